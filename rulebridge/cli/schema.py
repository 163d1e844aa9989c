"""`rulebridge schema`: print a JSON Schema that ships with rulebridge."""

from __future__ import annotations

from importlib import resources

import click

from engine.documents.schema import schema_text
from rulebridge.cli._help import CONTEXT

__all__ = ["schema"]


def _schemas() -> list[str]:
    folder = resources.files("engine").joinpath("schema")
    names = (item.name for item in folder.iterdir())
    return sorted(
        name.removesuffix(".schema.json") for name in names if name.endswith(".schema.json")
    )


@click.command("schema", context_settings=CONTEXT)
@click.argument("kind", default="ruleset", type=click.Choice(_schemas()))
def schema(kind: str) -> None:
    """Print the JSON Schema (draft 2020-12) for rulesets or another file kind.

    Editors use it to check rulesets as they are typed; each ruleset names it in its
    first line (# yaml-language-server: $schema=...).

    Example:

        rulebridge schema > ruleset.schema.json
    """
    click.echo(schema_text(kind), nl=False)
