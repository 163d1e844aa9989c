"""`rulebridge graph`: a ruleset's lifecycle as a state diagram (Mermaid, DOT or text)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import cast

import click

from engine import RulebridgeError, load_ruleset
from engine.language.diagram import FORMATS, Format, render
from rulebridge._exits import ExitCode
from rulebridge.cli._help import CONTEXT
from rulebridge.cli._options import failing_cleanly

__all__ = ["BEGIN", "END", "graph_command", "updated_markdown"]

DEFAULT_RULESET = Path("rulesets/alto-fixflo/v2.yaml")
_SHIPPED = Path(__file__).resolve().parents[2] / DEFAULT_RULESET
BEGIN = "<!-- rulebridge graph: begin -->"
END = "<!-- rulebridge graph: end -->"
_FENCE = {"mermaid": "mermaid", "dot": "dot", "text": "text"}


@click.command("graph", context_settings=CONTEXT)
@click.argument(
    "ruleset_path",
    required=False,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "--format",
    "output",
    type=click.Choice(FORMATS),
    default="mermaid",
    show_default=True,
    help="mermaid (stateDiagram-v2, for Markdown), dot (Graphviz) or text (a terminal).",
)
@click.option(
    "--update",
    "markdown",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=f"Write the diagram into this Markdown file between its '{BEGIN}' and '{END}' "
    "lines (as a fenced block) instead of printing it.",
)
def graph_command(ruleset_path: Path | None, output: str, markdown: Path | None) -> None:
    """Draw the ruleset's lifecycle as a state diagram: statuses, events and their guards.

    Each status shows its id, the Alto works-order status it asks for and whether documents
    are attached (docs) and a charge posted (charge) there; each event is a transition from
    each of its `from` statuses, with its guard in words; status cases are notes. RULESET
    defaults to rulesets/alto-fixflo/v2.yaml. Exit codes: 0 drawn, 1 the ruleset has errors
    or no lifecycle (the message says which), 64 usage error.

    Example:

        rulebridge graph --format mermaid

        rulebridge graph rulesets/alto-fixflo/v2.yaml --update docs/lifecycle.md
    """
    path = ruleset_path or (DEFAULT_RULESET if DEFAULT_RULESET.exists() else _SHIPPED)
    with failing_cleanly():
        lifecycle = load_ruleset(path).lifecycle
        if lifecycle is None:
            raise RulebridgeError(f"{path} declares no 'lifecycle:', so there is nothing to draw")
        diagram = render(lifecycle, cast(Format, output))
        if markdown is None:
            click.echo(diagram, nl=False)
            sys.exit(ExitCode.NOTHING)
        text = markdown.read_text("utf-8")
        markdown.write_text(updated_markdown(text, diagram, output, markdown), "utf-8")
    click.echo(f"{markdown}: the {output} diagram of {path} written")
    sys.exit(ExitCode.NOTHING)


def updated_markdown(text: str, diagram: str, output: str, where: Path) -> str:
    """`text` with the lines between its BEGIN and END markers replaced by `diagram`, fenced.

    Raises:
        RulebridgeError: the markers are missing, repeated or out of order.

    Example:
        >>> page = f"# Lifecycle\\n{BEGIN}\\nold\\n{END}\\n"
        >>> print(updated_markdown(page, "a --> b\\n", "mermaid", Path("x.md")), end="")
        # Lifecycle
        <!-- rulebridge graph: begin -->
        ```mermaid
        a --> b
        ```
        <!-- rulebridge graph: end -->
    """
    found = re.search(
        rf"^{re.escape(BEGIN)}[ \t]*\n(.*?)^{re.escape(END)}[ \t]*$", text, re.M | re.S
    )
    if found is None or text.count(BEGIN) != 1 or text.count(END) != 1:
        raise RulebridgeError(
            f"{where}: needs exactly one line '{BEGIN}' and, after it, one line '{END}' "
            "to put the diagram between"
        )
    block = f"```{_FENCE[output]}\n{diagram}```\n"
    return text[: found.start(1)] + block + text[found.end(1) :]
