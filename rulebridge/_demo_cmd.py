"""`rulebridge demo`: the main job end to end on the embedded default."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click
from rich.console import Console

from engine import RulebridgeError, check_paths, load_ruleset
from engine.planner import make_plan
from rulebridge._help import CONTEXT
from rulebridge._plan_table import print_plan
from rulebridge._snapshots import load_snapshots
from rulebridge._validate_cmd import summary_line
from simulator.agency import AgencyGenerator
from simulator.apply_plan import apply_plan

__all__ = ["demo"]

ROOT = Path(__file__).resolve().parent.parent
RULESETS = ROOT / "rulesets"
RULESET = RULESETS / "alto-fixflo" / "v1.yaml"
SETTINGS = RULESETS / "alto-fixflo" / "agency.example.yaml"


@click.command("demo", context_settings=CONTEXT)
@click.option(
    "--size",
    type=click.IntRange(10, 100_000),
    default=300,
    show_default=True,
    help="Properties in the generated agency.",
)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out/demo"),
    show_default=True,
    help="Where the files go.",
)
def demo(size: int, seed: int, out_dir: Path) -> None:
    """Run the main job on the embedded default and print what it did.

    Validates the shipped rulesets, generates a realistic agency (Alto and the Fixflo
    records it must merge with), plans the nightly Alto -> Fixflo sync with the example
    agency settings, then applies the plan to the Fixflo records in memory and plans again
    to show that a second night changes nothing.

    Example:

        rulebridge demo --size 500 --seed 3
    """
    console = Console() if Console().is_terminal else Console(width=140)
    try:
        _validate(console)
        _run(console, size, seed, out_dir)
    except RulebridgeError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


def _validate(console: Console) -> None:
    console.rule("1. The shipped rulesets")
    results = check_paths([RULESETS])
    for result in results:
        console.print(
            summary_line(result) if result.ok else "\n".join(map(str, result.errors)),
            markup=False,
            highlight=False,
        )
    if not all(result.ok for result in results):
        raise click.ClickException("a shipped ruleset does not validate")


def _run(console: Console, size: int, seed: int, out_dir: Path) -> None:
    console.rule(f"2. A generated agency ({size} properties, seed {seed})")
    for snapshot in AgencyGenerator(size, seed).write(out_dir):
        counts = ", ".join(f"{count} {name}" for name, count in snapshot.counts.items())
        console.print(f"{snapshot.path}: {counts}", markup=False, highlight=False)
    ruleset = load_ruleset(RULESET, settings=SETTINGS)
    loaded = load_snapshots(out_dir / "alto.json", out_dir / "fixflo.json")
    as_of = date.fromisoformat(loaded.headers["alto"].taken_at[:10])
    console.rule("3. The nightly plan (nothing is written to Alto or Fixflo)")
    first = make_plan(ruleset, loaded.records, as_of=as_of, inputs=loaded.inputs())
    print_plan(first, console)
    plan_file = out_dir / "plan.json"
    plan_file.write_text(json.dumps(first.to_json(), indent=2, default=str) + "\n", "utf-8")
    console.print(f"The whole plan, every record explained: {plan_file}", highlight=False)
    console.rule("4. The next night, after the plan is applied")
    fixflo = {name: rows for name, rows in loaded.records.items() if name.startswith("fixflo.")}
    after = {**loaded.records, **apply_plan(ruleset, first, fixflo)}
    second = make_plan(ruleset, after, as_of=as_of)
    console.print(
        f"operations: {len(second.operations)} (first night: {len(first.operations)}); "
        f"still for a person: {len(second.manual)}",
        highlight=False,
    )
