"""`rulebridge tui`: the Textual TUI that steps a Fixflo issue through the lifecycle."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from rulebridge._exits import ExitCode
from rulebridge.cli._help import CONTEXT
from rulebridge.cli._options import failing_cleanly

__all__ = ["tui"]

EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)
DEFAULT_RULESET = "rulesets/alto-fixflo/v2.yaml"


@click.command("tui", context_settings=CONTEXT)
@click.option(
    "--ruleset",
    "ruleset_path",
    type=EXISTING,
    default=DEFAULT_RULESET,
    show_default=True,
    help="The ruleset file (it must declare a 'lifecycle:').",
)
@click.option("--scenario", "scenario_path", type=EXISTING, help="Start from a scenario file.")
@click.option("--seed", type=int, help="Start from a random lifecycle drawn with this seed.")
@click.option(
    "--no-watch",
    is_flag=True,
    help="Do not reload the ruleset by itself when its file changes (r still reloads).",
)
@click.option(
    "--screenshots",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="RULEBRIDGE_SCREENSHOTS",
    help="The folder screenshots go to (made on first use)  [env RULEBRIDGE_SCREENSHOTS; "
    "default: out/screenshots]",
)
def tui(
    ruleset_path: Path,
    scenario_path: Path | None,
    seed: int | None,
    no_watch: bool,
    screenshots: Path | None,
) -> None:
    """Step a Fixflo issue through the ruleset's lifecycle and watch Alto react.

    Fixflo beside Alto (what changed at the step in bold yellow), the events possible now
    (keys 1-9 or click), a timeline (left and right arrows), what the rules did and why,
    the step's expectations, the invariants. The ruleset file is watched and reloaded when
    it changes; every step is replayed and what now differs is shown. b browses the rules,
    d draws the lifecycle, l/s load and save scenarios, m writes a step's note, ctrl+s saves
    a screenshot, ? lists every key, ctrl+p finds any action by name, q quits.

    Example:

        rulebridge tui --scenario simulator/scenarios/documented-path.yaml
    """
    if scenario_path is not None and seed is not None:
        raise click.UsageError("give --scenario or --seed, not both")
    from tui.app import NoLifecycle, make_app  # Textual loads only for this command

    with failing_cleanly():
        try:
            app = make_app(
                ruleset_path,
                scenario=scenario_path,
                seed=seed,
                watch=not no_watch,
                screenshots=screenshots,
            )
        except NoLifecycle as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(ExitCode.USAGE)
        except (OSError, UnicodeDecodeError) as exc:
            click.echo(f"error: cannot read {scenario_path}: {exc}", err=True)
            sys.exit(ExitCode.FAILURE)
    app.run()
