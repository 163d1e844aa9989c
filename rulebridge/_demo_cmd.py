"""`rulebridge demo`: the main job end to end on the embedded default."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine import check_paths
from rulebridge._validate_cmd import summary_line

__all__ = ["demo"]

RULESETS = Path(__file__).resolve().parent.parent / "rulesets"


@click.command("demo")
def demo() -> None:
    """Run the main job on the embedded default and print what it did.

    Validates every shipped ruleset and agency settings file.

    Example:

        rulebridge demo
    """
    results = check_paths([RULESETS])
    for result in results:
        click.echo(summary_line(result) if result.ok else "\n".join(map(str, result.errors)))
    if not all(result.ok for result in results):
        sys.exit(1)
