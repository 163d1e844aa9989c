"""`rulebridge explore`: every lifecycle event sequence up to a depth, checked."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from engine import RulebridgeError, load_ruleset
from rulebridge._exits import ExitCode
from rulebridge.cli._help import CONTEXT
from rulebridge.cli._options import bounded, failing_cleanly
from simulator.lifecycle.explore import explore, scenario_yaml

__all__ = ["explore_command"]

EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command("explore", context_settings=CONTEXT)
@click.option("--ruleset", "ruleset_path", required=True, type=EXISTING, help="The ruleset file.")
@bounded("--depth", 1, 12, 6, "The longest sequence of moves tried.")
@bounded("--issues", 1, 3, 1, "How many issues the world holds.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a counterexample scenario here as well as printing it.",
)
def explore_command(ruleset_path: Path, depth: int, issues: int, out: Path | None) -> None:
    """Try every sequence of Fixflo events (with lost, late and repeated webhooks) up to
    --depth against the lifecycle invariants.

    Prints the states and sequences explored and the rate; on a violation, the shortest
    counterexample as a scenario file that `rulebridge simulate` replays. Exit codes: 0 all
    invariants held, 1 a counterexample was found or an error, 64 usage error.

    Example:

        rulebridge explore --ruleset rulesets/alto-fixflo/v2.yaml --depth 6
    """
    with failing_cleanly():
        ruleset = load_ruleset(ruleset_path)
        if ruleset.lifecycle is None:
            raise RulebridgeError(f"{ruleset_path} declares no 'lifecycle:'")
        started = time.perf_counter()
        result = explore(ruleset, depth, issues)
        elapsed = max(time.perf_counter() - started, 1e-9)
    click.echo(
        f"explored {result.states} states and {result.sequences} sequences up to depth {depth} "
        f"over {issues} issue{'s' * (issues != 1)} "
        f"in {elapsed:.2f}s ({result.states / elapsed:.0f} states/s, "
        f"{result.sequences / elapsed:.0f} sequences/s)"
    )
    if result.counterexample is None:
        click.echo("every invariant held")
        return
    text = scenario_yaml(result.counterexample, result.problems, result.settings)
    click.echo("counterexample (a scenario for `rulebridge simulate`):")
    click.echo(text, nl=False)
    if out is not None:
        out.write_text(text, "utf-8")
    sys.exit(ExitCode.FAILURE)
