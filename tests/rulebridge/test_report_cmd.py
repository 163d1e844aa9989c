"""`rulebridge report latest|RUN` and `rulebridge history` over a real store, from real runs
against the fake servers on loopback (real HTTP, a real SQLite file), and the demo counting
changes as they do."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from engine.store import Store
from rulebridge._config import load_agency_config
from rulebridge._exits import ExitCode
from rulebridge.cli import main
from rulebridge.runner import RunLog, RunOptions, run_nightly
from simulator.fake import serving
from simulator.fake.loopback import FakeAgency, fake_agency
from tests.engine.apply_world import RULESET, make_world

SIZE, SEED = 40, 3
REFUSED = "errors@POST /api/v2/Tenant=1.0"  # Fixflo answers 200 with Errors to each


def night(agency: FakeAgency, **options: Any) -> dict[str, Any]:
    config = load_agency_config(agency.config_path)
    log = RunLog(io.StringIO(), terminal=False)
    return run_nightly(RunOptions(config, agency.store_path, **options), log).report


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[FakeAgency, str]]:
    """Two nights: the first dead-letters every tenant Fixflo refuses; before the second a
    synced property stops being for rent, so it is left in Fixflo for a person. The agency
    and that property's Alto id."""
    with fake_agency(tmp_path / "agency", size=SIZE, seed=SEED, faults=REFUSED) as agency:
        assert night(agency)["dead_letters"]
        with Store.open(agency.store_path) as store:
            departed = sorted(store.id_map("property"))[0]
        (record,) = [p for p in agency.alto.world["inventory"] if p["inventoryId"] == departed]
        record["recordType"] = "Sale"
        night(agency)
        yield agency, departed


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.cells: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._cell = [] if tag in ("td", "th") else self._cell

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _cells(html: str) -> _Cells:
    page = _Cells()
    page.feed(html)
    return page


def test_report_latest_lists_items_for_a_person_and_dead_letters_in_each_format(
    served: tuple[FakeAgency, str], tmp_path: Path
) -> None:
    agency, departed = served
    config = ("--config", str(agency.config_path))
    stored = json.loads(cli("report", "latest", *config, "--format", "json").stdout)
    assert stored["run"]["id"] == 2
    (item,) = [i for i in stored["reference"]["manual_items"] if i["source_id"] == departed]
    assert item["rule"] == "P-departed"
    assert "archive it in Fixflo by hand" in item["todo"]

    table = cli("report", "latest", *config)
    assert table.exit_code == 0, table.output
    assert "For a person (" in table.stdout
    assert departed in table.stdout

    markdown = cli("report", "latest", *config, "--format", "md")
    assert markdown.exit_code == 0, markdown.output
    assert markdown.stdout.startswith("# Run 2 for ")
    rows = re.findall(r"^\| property \| (\d+) \| P-departed \|", markdown.stdout, re.M)
    assert departed in rows

    page = tmp_path / "run-1.html"
    written = cli("report", "1", *config, "--format", "html", "--output", str(page))
    assert written.exit_code == 0, written.output
    assert written.stdout == ""
    first = json.loads(cli("report", "1", *config, "--format", "json").stdout)
    html = _cells(page.read_text("utf-8"))
    assert "table" in html.tags
    assert "script" not in html.tags
    groups = {letter["group"] for letter in first["dead_letters"]}
    assert len(groups) < len(first["dead_letters"])  # many tenants, a few reasons
    for group in groups:
        assert group in html.cells
    listed = " ".join(cell for cell in html.cells if cell.startswith("#"))
    assert sorted(re.findall(r"#(\d+)", listed), key=int) == [
        str(letter["id"]) for letter in first["dead_letters"]
    ]

    text = tmp_path / "run-2.txt"
    assert cli("report", "latest", *config, "--output", str(text)).exit_code == 0
    assert "For a person (" in text.read_text("utf-8")


def test_an_unknown_run_a_bad_name_and_an_apply_run(
    served: tuple[FakeAgency, str], tmp_path: Path
) -> None:
    agency, _ = served
    config = ("--config", str(agency.config_path))
    missing = cli("report", "9", *config)
    assert missing.exit_code == 1
    assert "has no run 9" in missing.stderr
    bad = cli("report", "newest", *config)
    assert bad.exit_code not in (0, 1)  # a usage error
    assert "neither `latest` nor a run id" in bad.output

    plan = tmp_path / "plan.json"
    night(agency, dry_run=True, plan_out=plan)
    applied = cli("apply", str(plan), *config, "--quiet")
    assert applied.exit_code in (0, 2, 3), applied.output
    assert applied.stdout == ""
    latest = json.loads(cli("report", "latest", *config, "--format", "json").stdout)
    assert latest["run"]["kind"] == "apply"
    assert latest["run"]["exit_code"] == applied.exit_code
    assert latest["reference"]["manual_items"]  # the plan's items for a person, listed
    night_report = json.loads(
        cli("report", "latest", *config, "--kind", "night", "--format", "json").stdout
    )
    assert night_report["run"]["id"] == latest["run"]["id"] - 1
    listed = json.loads(cli("history", *config, "--format", "json").stdout)
    assert [row["kind"] for row in listed] == ["apply", "night", "night", "night"]
    for row in listed:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", row["started"])


def test_history_report_and_demo_count_the_same_changes(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    demo = cli("demo", "--size", "10", "--seed", "2", "--out", str(out))
    assert demo.exit_code == 0, demo.output
    said = {
        int(run): int(changes)
        for run, changes in re.findall(
            r"^night \d: run (\d+): .*?, (\d+) changes,", demo.stdout, re.M
        )
    }
    assert len(said) == 3
    assert any(said.values())
    store = str(out / "night" / "state" / "agency.db")
    listed = json.loads(cli("history", "--store", store, "--format", "json").stdout)
    assert {row["run"]: row["changes"] for row in listed if row["run"] in said} == said
    for run, changes in said.items():
        shown = cli("report", str(run), "--store", store, "--format", "md").stdout
        assert f"| changes | {changes} |" in shown


def test_an_interrupted_apply_keeps_its_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(tmp_path)
    monkeypatch.setenv("ACME_FIXFLO", world.fake.token)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(world.plan.to_json()), "utf-8")

    async def interrupted(*_args: Any, **_kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("rulebridge.cli.apply.apply_plan", interrupted)
    with serving(world.fake.app) as url:
        config = tmp_path / "acme.yaml"
        config.write_text(
            f"agency: acme\nruleset: {RULESET}\nfixflo:\n  base_url: {url}/api/v2\n"
            "  token_env: ACME_FIXFLO\n",
            "utf-8",
        )
        stopped = cli("apply", str(plan), "--config", str(config))
    assert stopped.exit_code == ExitCode.INTERRUPTED
    assert "apply the plan again" in stopped.stderr
    shown = json.loads(cli("report", "latest", "--config", str(config), "--format", "json").stdout)
    assert shown["run"]["kind"] == "apply"
    assert shown["run"]["status"] == "interrupted"
    assert shown["run"]["exit_code"] == ExitCode.INTERRUPTED
    assert shown["run"]["signal"] == "SIGINT"
    listed = json.loads(cli("history", "--config", str(config), "--format", "json").stdout)
    assert [(row["kind"], row["status"]) for row in listed] == [("apply", "interrupted")]
