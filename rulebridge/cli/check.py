"""`rulebridge check --config AGENCY.yaml`: check an agency config and both APIs in seconds."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from rulebridge._exits import ExitCode
from rulebridge.cli._help import CONTEXT
from rulebridge.cli._options import AGENCY, FORMAT
from rulebridge.runner.check import CheckReport, check_agency

__all__ = ["check_command"]


@click.command("check", context_settings=CONTEXT)
@AGENCY
@FORMAT
def check_command(config_path: Path, output: str) -> None:
    """Check an agency config in seconds: the file, its ruleset, both APIs reached and
    their credentials accepted, without reading the agency.

    The config is checked as a config (errors located by line), its ruleset and settings
    are loaded, and the issue parts it declares are checked against the Fixflo adapter.
    Then each API answers one cheap request of its contract (Alto: POST /token and one
    tenancy; Fixflo: one property), each within 5 s and tried at most twice. Each line
    names the system, the exact request, the result and the time taken; a failed line
    names the config key or variable to fix. `rulebridge run` makes the same API checks
    first. Read-only: nothing is written anywhere.

    Exit codes: 0 every check passed, 1 a check failed, 64 usage error.

    Example:

        rulebridge check --config agencies/acme.yaml
    """
    report = check_agency(config_path)
    if output == "json":
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        _print(report)
    sys.exit(ExitCode.NOTHING if report.ok else ExitCode.FAILURE)


def _print(report: CheckReport) -> None:
    for line in report.lines:
        mark = "ok  " if line.ok else "FAIL"
        request = f": {line.request}" if line.request else ""
        took = f" ({line.ms} ms)" if line.ms is not None else ""
        first, *rest = line.result.splitlines() or [""]
        click.echo(f"{mark} {line.system:<7} {line.check}{request} -> {first}{took}")
        for more in rest:
            click.echo(f"       {more}")
        if line.fix and not line.ok:
            click.echo(f"       fix: {line.fix}")
    verdict = "all checks passed" if report.ok else "a check failed"
    click.echo(f"{verdict} in {report.seconds:.1f} s")
