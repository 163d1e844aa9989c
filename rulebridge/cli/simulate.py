"""`rulebridge simulate`: play a lifecycle scenario and show Fixflo and Alto after each step."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from engine import RulebridgeError, load_ruleset
from rulebridge._exits import ExitCode
from rulebridge.cli._help import CONTEXT
from rulebridge.cli._options import failing_cleanly
from simulator.lifecycle import CheckedStep, StepReport, load_scenario, play_checked

__all__ = ["render_checked", "render_text", "simulate"]

EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command("simulate", context_settings=CONTEXT)
@click.option("--ruleset", "ruleset_path", required=True, type=EXISTING, help="The ruleset file.")
@click.option("--scenario", "scenario_path", required=True, type=EXISTING, help="A scenario file.")
@click.option(
    "--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def simulate(ruleset_path: Path, scenario_path: Path, output: str) -> None:
    """Play a Fixflo issue scenario through the ruleset's lifecycle into a simulated Alto.

    After each step: the Fixflo status, the Alto works order (status and fields) or "none",
    Alto documents and charges, warnings, and the rules that fired with what they read;
    then each of the step's `expect:` keys, met or NOT MET with what was expected and
    what was found (JSON: an "expect" object per step with its met keys and unmet ones).
    Exit codes: 0 every invariant held and every expectation was met, 1 an invariant was
    broken, an expectation was not met, or an error (the message says which), 64 usage
    error.

    Example:

        rulebridge simulate --ruleset rulesets/alto-fixflo/v2.yaml \
            --scenario simulator/scenarios/documented-path.yaml
    """
    with failing_cleanly():
        ruleset = load_ruleset(ruleset_path)
        if ruleset.lifecycle is None:
            raise RulebridgeError(f"{ruleset_path} declares no 'lifecycle:'")
        checked = play_checked(ruleset, load_scenario(scenario_path, ruleset))
    if output == "json":
        click.echo(json.dumps([step.to_json() for step in checked], indent=2, default=str))
    else:
        click.echo(render_checked(checked), nl=False)
    broken = any(step.report.violations or step.mismatches for step in checked)
    sys.exit(ExitCode.FAILURE if broken else ExitCode.NOTHING)


def render_text(reports: Sequence[StepReport]) -> str:
    """The reports as plain text, one block per step."""
    return "".join(_block(report) + "\n" for report in reports)


def render_checked(steps: Sequence[CheckedStep]) -> str:
    """The checked steps as plain text: each report, then its expectations met or not, and
    a closing count of the expectations when the scenario has any."""
    text = "".join(_block(step.report) + _expectations(step) + "\n" for step in steps)
    met = sum(len(step.met) for step in steps)
    unmet = sum(len(step.step.expect.keys) - len(step.met) for step in steps if step.step.expect)
    if met or unmet:
        verdict = "all met" if not unmet else f"{unmet} NOT MET"
        text += f"expectations: {met + unmet} checked, {verdict}\n"
    return text


def _expectations(step: CheckedStep) -> str:
    expect = step.step.expect
    if expect is None:
        return ""
    lines = [f"  expect (line {expect.line}):"]
    for key in expect.keys:
        found = [mismatch for mismatch in step.mismatches if mismatch.key == key]
        if not found:
            lines.append(f"    {key}: met")
        for mismatch in found:
            lines.append(
                f"    {mismatch.what}: NOT MET (line {mismatch.line}): expected "
                f"{mismatch.expected}, got {mismatch.actual}"
            )
    return "\n".join(lines) + "\n"


def _block(report: StepReport) -> str:
    lines = [f"step {report.index}: {report.step} on {report.issue}"]
    lines.append(f"  fixflo status: {report.fixflo_status}")
    works = report.works_order
    if works is None:
        lines.append("  alto works order: none")
    else:
        lines.append(f"  alto works order {works.get('id')}: {works.get('status')}")
        lines += [
            f"    {key}: {value!r}" for key, value in works.items() if key not in ("id", "status")
        ]
    lines.append(f"  alto documents: {', '.join(report.documents) or 'none'}")
    if not report.charges:
        lines.append("  alto charges: none")
    for charge in report.charges:
        route = "tenancies" if charge.get("post") == "tenancy" else "inventory"
        lines.append(
            f"  alto charge {charge.get('id')}: POST /{route}/{charge.get('targetId')}/charges"
        )
        lines += [
            f"    {key}: {value!r}"
            for key, value in charge.items()
            if key not in ("id", "post", "targetId")
        ]
    lines += [f"  warning: {text}" for text in report.warnings]
    lines += [f"  rule: {text}" for text in report.fired]
    lines += [f"  VIOLATION: {text}" for text in report.violations]
    return "\n".join(lines) + "\n"
