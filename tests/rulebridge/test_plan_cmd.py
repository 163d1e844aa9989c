"""`rulebridge plan` in flat memory: the same JSON and table as a plan made in memory,
written item by item; its temporary files removed whatever happens."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from click.testing import CliRunner
from rich.console import Console

from engine.sync.planner import make_plan
from rulebridge._snapshots import load_snapshots
from rulebridge.cli._plan_table import print_plan
from rulebridge.cli.plan import plan as plan_command
from simulator.agency import write_agency
from tests.rulesets.alto import AS_OF, DEFAULT, RULESET_PATH


def test_the_command_streams_the_same_json_and_table_as_before(tmp_path: Path) -> None:
    """A generated agency through `rulebridge plan`: the file, standard output and the
    table equal the plan made in memory."""
    alto, fixflo = write_agency(tmp_path / "agency", size=120, seed=5)
    args = ["--ruleset", str(RULESET_PATH), "--alto", str(alto), "--fixflo", str(fixflo)]
    loaded = load_snapshots(alto, fixflo)
    made = make_plan(DEFAULT, loaded.records, as_of=AS_OF, inputs=loaded.inputs())
    expected = json.dumps(made.to_json(), indent=2, ensure_ascii=False, default=str) + "\n"
    runner = CliRunner()
    to_file = runner.invoke(
        plan_command, [*args, "--format", "json", "--out", str(tmp_path / "p.json")]
    )
    assert to_file.exit_code == 2, to_file.output
    assert (tmp_path / "p.json").read_text("utf-8") == expected
    assert not (tmp_path / "p.json.partial").exists()
    to_stdout = runner.invoke(plan_command, [*args, "--format", "json"])
    assert to_stdout.stdout == expected
    table = runner.invoke(plan_command, [*args, "--out", str(tmp_path / "p.txt")])
    with (tmp_path / "expected.txt").open("w", encoding="utf-8") as handle:
        print_plan(made, Console(file=handle, width=160))
    assert table.exit_code == 2
    assert (tmp_path / "p.txt").read_text("utf-8") == (tmp_path / "expected.txt").read_text("utf-8")


def test_the_temporary_files_are_removed_even_when_planning_fails(tmp_path: Path) -> None:
    alto, _ = write_agency(tmp_path / "agency", size=20, seed=5)
    before = set(Path(tempfile.gettempdir()).glob("rulebridge-plan-*"))
    bad_settings = tmp_path / "settings.yaml"
    bad_settings.write_text("property_categories: [Industrial]\n", "utf-8")
    failed = CliRunner().invoke(
        plan_command,
        ["--ruleset", str(RULESET_PATH), "--alto", str(alto), "--settings", str(bad_settings)],
    )
    assert failed.exit_code == 1
    assert "Traceback" not in failed.output
    assert set(Path(tempfile.gettempdir()).glob("rulebridge-plan-*")) == before
