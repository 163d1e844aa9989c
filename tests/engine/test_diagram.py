"""The lifecycle diagrams: Mermaid checked by a parser of the stateDiagram-v2 subset we emit,
DOT by pydot's parser, text by content; names with colons, quotes and brackets stay legal.

The Mermaid parser follows Mermaid's documented state-diagram grammar (docs "State
diagrams", and the stateDiagram jison lexer): a ``stateDiagram-v2`` header, then one statement
a line: ``direction D``; ``state "DESCRIPTION" as ID`` (the description ends at the next
double quote); ``A --> B`` with an optional ``: LABEL`` running to the end of the line, ``[*]``
as the start (on the left) or the end (on the right); ``note left|right of ID : TEXT``; ``%%``
comments. ``;`` separates statements and ``#...;`` is an entity code, so in text a bare ``;``,
``#``, ``"``, ``%`` or ``:`` (which starts a description) is a mistake of the emitter; ``<br/>``
is the only markup allowed; ``--`` would read as an arrow.
"""

from __future__ import annotations

import html
import re
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pydot
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import load_ruleset
from engine.language.diagram import FORMATS, dot, mermaid, render, text
from engine.language.lifecycle import Lifecycle

ROOT = Path(__file__).resolve().parents[2]


_LOADED = load_ruleset(ROOT / "rulesets" / "alto-fixflo" / "v2.yaml").lifecycle
assert _LOADED is not None
LIFECYCLE: Lifecycle = _LOADED

_ID = r"[A-Za-z_][A-Za-z0-9_]*"
_ENTITY = r"#(?:[0-9]+|[A-Za-z]+);"
_KEYWORDS = frozenset({"state", "note", "end", "direction", "as", "classDef", "class"})


class MermaidError(ValueError):
    """A line the grammar does not accept."""


@dataclass
class StateDiagram:
    states: dict[str, str] = field(default_factory=dict)
    transitions: list[tuple[str, str, str | None]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)


def _text(value: str, where: int) -> str:
    """Check a description or label against the grammar; return it decoded."""
    rest = re.sub(_ENTITY, "", value.replace("<br/>", ""))
    bad = set(rest) & set('";#%:<>{}')
    if bad or "--" in value or not value.strip():
        raise MermaidError(f"line {where}: {sorted(bad) or 'empty or --'} in text {value!r}")
    decoded = re.sub(r"#([0-9]+);", lambda m: chr(int(m.group(1))), value.replace("<br/>", "\n"))
    return html.unescape(decoded.replace("#quot;", '"').replace("#lt;", "<").replace("#gt;", ">"))


def _state_id(value: str, where: int) -> str:
    if not re.fullmatch(_ID, value) or value in _KEYWORDS:
        raise MermaidError(f"line {where}: {value!r} is not a state id")
    return value


def parse_mermaid(source: str) -> StateDiagram:
    """Parse the subset; raise MermaidError at the first line outside it."""
    lines = source.split("\n")
    if lines[0] != "stateDiagram-v2" or lines[-1] != "":
        raise MermaidError("the diagram must start with 'stateDiagram-v2' and end with a newline")
    diagram = StateDiagram()
    used: list[tuple[str, int]] = []
    for number, raw in enumerate(lines[1:-1], start=2):
        line = raw.strip()
        if not line or line.startswith("%%"):
            continue
        if match := re.fullmatch(r"direction (TB|TD|BT|RL|LR)", line):
            continue
        if match := re.fullmatch(r'state "([^"\n]*)" as (\S+)', line):
            name = _state_id(match.group(2), number)
            if name in diagram.states:
                raise MermaidError(f"line {number}: state {name} declared twice")
            diagram.states[name] = _text(match.group(1), number)
        elif match := re.fullmatch(r"(\S+) --> (\S+)(?: : (.*))?", line):
            source_id, target_id, label = match.groups()
            if source_id != "[*]":
                used.append((_state_id(source_id, number), number))
            if target_id != "[*]":
                used.append((_state_id(target_id, number), number))
            if source_id == target_id == "[*]":
                raise MermaidError(f"line {number}: [*] --> [*]")
            decoded = None if label is None else _text(label, number)
            diagram.transitions.append((source_id, target_id, decoded))
        elif match := re.fullmatch(r"note (?:left|right) of (\S+) : (.*)", line):
            used.append((_state_id(match.group(1), number), number))
            diagram.notes.append((match.group(1), _text(match.group(2), number)))
        else:
            raise MermaidError(f"line {number}: not a stateDiagram-v2 statement: {line!r}")
    for name, number in used:
        if name not in diagram.states:
            raise MermaidError(f"line {number}: state {name} used but never declared")
    return diagram


@pytest.mark.parametrize(
    "bad",
    [
        'state "Job: done" as Done',  # an unescaped colon in a state's name
        'state "say "hi"" as Hi',  # an unescaped quote ends the description early
        "Done --> Closed : close; drop",  # ; ends a statement
        "Done --> Closed : a --> b",  # an arrow inside a label
        "Done --> Closed : 100% done",  # % starts a comment
        "Job Done --> Closed",  # a state id with a space
        "Missing --> Closed : x",  # a state never declared
    ],
)
def test_the_mermaid_parser_rejects_what_mermaid_would_misread(bad: str) -> None:
    source = 'stateDiagram-v2\n    state "Done" as Done\n    state "Closed" as Closed\n'
    assert parse_mermaid(source + "    Done --> Closed : close\n").transitions
    with pytest.raises(MermaidError):
        parse_mermaid(source + f"    {bad}\n")


def _label(diagram: StateDiagram, name: str) -> str:
    return diagram.states[name]


@pytest.mark.req("W-01", "W-03", "W-08", "W-09")
def test_mermaid_draws_every_status_event_guard_start_final_and_case() -> None:
    diagram = parse_mermaid(mermaid(LIFECYCLE))
    assert set(diagram.states) == set(LIFECYCLE.statuses)
    assert _label(diagram, "Reported") == "Reported (W-01)\nno Alto works order"
    assert _label(diagram, "JobAwarded") == "JobAwarded (W-03)\nAlto works order SupplierInstructed"
    assert _label(diagram, "Closed").endswith("CompleteInvoicingReceived\ndocs + charge")
    expected = {
        (source or "[*]", event.to, event.name)
        for event in LIFECYCLE.events.values()
        for source in event.sources or (None,)
    }
    drawn = {(a, b, (label or "").split(" [when ")[0]) for a, b, label in diagram.transitions}
    assert expected | {("Closed", "[*]", "")} == drawn
    guarded = [label for _, _, label in diagram.transitions if label and "[when" in label]
    assert guarded == ["give_feedback [when setting fixflo_feedback_on = True]"]
    assert diagram.notes == [
        (
            "Closed",
            "W-09.cancelled (when Job.JobCompleted absent) gives Alto works order Cancelled, "
            "docs, no charge",
        )
    ]


def _renamed(lifecycle: Lifecycle, names: list[str], events: list[str]) -> Lifecycle:
    """The lifecycle with its statuses and events renamed (same shape)."""
    status = dict(zip(lifecycle.statuses, names, strict=False))
    event = dict(zip(lifecycle.events, events, strict=False))
    return replace(
        lifecycle,
        start=status[lifecycle.start],
        final=frozenset(status[name] for name in lifecycle.final),
        statuses={
            status[key]: replace(spec, name=status[key]) for key, spec in lifecycle.statuses.items()
        },
        events={
            event[key]: replace(
                spec,
                name=event[key],
                sources=tuple(status[s] for s in spec.sources),
                to=status[spec.to],
            )
            for key, spec in lifecycle.events.items()
        },
    )


NASTY = st.text(
    alphabet=st.sampled_from(list("ab :;\"#%<>{}[]-\\'\n\tx&é")), min_size=1, max_size=12
).filter(lambda value: value.strip() != "")


@settings(max_examples=60, deadline=None)
@given(
    names=st.lists(
        NASTY, min_size=len(LIFECYCLE.statuses), max_size=len(LIFECYCLE.statuses), unique=True
    ),
    events=st.lists(
        NASTY, min_size=len(LIFECYCLE.events), max_size=len(LIFECYCLE.events), unique=True
    ),
)
def test_any_names_give_a_diagram_that_parses_with_the_names_intact(
    names: list[str], events: list[str]
) -> None:
    lifecycle = _renamed(LIFECYCLE, names, events)
    diagram = parse_mermaid(mermaid(lifecycle))
    shown = sorted(label.split("\n")[0].rsplit(" (", 1)[0] for label in diagram.states.values())
    assert shown == sorted(" ".join(name.split()) for name in names)
    labels = {label for _, _, label in diagram.transitions if label}
    assert {" ".join(name.split()) for name in events} <= {
        label.split(" [when ")[0] for label in labels
    }


@settings(max_examples=8, deadline=None)  # pydot's parser takes about 0.3 s a diagram
@given(
    names=st.lists(
        NASTY, min_size=len(LIFECYCLE.statuses), max_size=len(LIFECYCLE.statuses), unique=True
    ),
    events=st.lists(
        NASTY, min_size=len(LIFECYCLE.events), max_size=len(LIFECYCLE.events), unique=True
    ),
)
def test_any_names_give_dot_that_pydot_parses_with_the_names_intact(
    names: list[str], events: list[str]
) -> None:
    lifecycle = _renamed(LIFECYCLE, names, events)
    graph = _dot_graph(dot(lifecycle))
    nodes = {_unquote(node.get_name()) for node in graph.get_nodes()} - {"node"}
    assert set(names) <= nodes
    edge_labels = {_unquote(edge.get("label")) for edge in graph.get_edges() if edge.get("label")}
    assert {label.split(" [when ")[0] for label in edge_labels} == set(events)


def _unquote(value: Any) -> str:
    raw = str(value)
    if raw.startswith('"') and raw.endswith('"'):
        raw = raw[1:-1]
    return re.sub(r'\\(["\\n])', lambda m: "\n" if m.group(1) == "n" else m.group(1), raw)


def _dot_graph(source: str) -> Any:
    # pydot 4.0.1 builds its grammar with pyparsing's camelCase names, which pyparsing 3.3
    # deprecates: a warning about pydot's code, not about the DOT parsed.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        graphs = pydot.graph_from_dot_data(source)
    assert graphs is not None
    assert len(graphs) == 1
    return graphs[0]


def test_pydot_parses_the_dot_with_every_status_and_transition() -> None:
    graph = _dot_graph(dot(LIFECYCLE))
    nodes = {_unquote(node.get_name()) for node in graph.get_nodes()}
    assert set(LIFECYCLE.statuses) <= nodes
    edges = {
        (_unquote(edge.get_source()), _unquote(edge.get_destination()), _unquote(edge.get("label")))
        for edge in graph.get_edges()
        if edge.get("label")
    }
    assert ("JobCompleted", "Closed", "close") in edges
    assert ("[start]", "Reported", "report") in edges
    assert len(edges) == sum(max(len(event.sources), 1) for event in LIFECYCLE.events.values())
    closed = next(node for node in graph.get_nodes() if _unquote(node.get_name()) == "Closed")
    assert _unquote(closed.get("label")).endswith("docs + charge")


def test_text_lists_each_status_with_the_events_leaving_it() -> None:
    drawn = text(LIFECYCLE)
    block = drawn.split("\n\nJobCompleted (W-08)")[1].split("\n\n")[0]
    assert block.splitlines()[1:] == [
        "  give_feedback      --> JobCompleted  (only when setting fixflo_feedback_on = True)",
        "  close              --> Closed",
    ]
    assert "  case W-09.cancelled (when Job.JobCompleted absent)" in drawn
    assert drawn.rstrip().endswith("(final)")


def test_render_knows_each_format_and_refuses_others() -> None:
    assert [render(LIFECYCLE, name)[:7] for name in FORMATS] == ["stateDi", "digraph", "Lifecyc"]
    with pytest.raises(ValueError, match="unknown diagram format 'svg'"):
        render(LIFECYCLE, "svg")  # type: ignore[arg-type]
