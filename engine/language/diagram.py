"""The lifecycle as a state diagram: Mermaid ``stateDiagram-v2``, Graphviz DOT, or plain text.

Built from a compiled `Lifecycle`, never from the ruleset's text: every status (its name, its
id, the Alto works-order status it asks for, whether documents are attached and a charge is
posted there), every event as a transition from each of its ``from`` statuses (with its guard
in words), the start and final statuses, and each status case as a note. Every label is
escaped for its format, so a status or event name holding a colon, a quote or a bracket gives
a diagram that still parses (Mermaid state ids are generated when a name is not a plain word).

Example:
    >>> from engine import load_ruleset
    >>> lifecycle = load_ruleset("rulesets/alto-fixflo/v2.yaml").lifecycle
    >>> print(mermaid(lifecycle).splitlines()[0])
    stateDiagram-v2
    >>> "Reported --> QuotesRequested : request_quotes" in mermaid(lifecycle)
    True
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from engine.language.lifecycle import Lifecycle, StatusSpec

__all__ = ["CURRENT", "FORMATS", "LAST", "Format", "dot", "mermaid", "render", "text"]

Format = Literal["mermaid", "dot", "text"]
FORMATS: tuple[Format, ...] = ("mermaid", "dot", "text")
"""The formats `render` knows, the first the default."""

_PLAIN_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Characters that end or change a Mermaid label; each is written as an entity code.
_MERMAID_ENTITIES = {
    "#": "#35;",
    '"': "#quot;",
    ":": "#58;",
    ";": "#59;",
    "%": "#37;",
    "<": "#lt;",
    ">": "#gt;",
    "{": "#123;",
    "}": "#125;",
}


@dataclass(frozen=True, slots=True)
class _Transition:
    source: str | None  # None: the record does not exist yet ([*])
    target: str
    event: str
    guard: str | None

    @property
    def label(self) -> str:
        return self.event if self.guard is None else f"{self.event} [when {self.guard}]"


def _works_order(spec: StatusSpec | None) -> str:
    """What Alto holds at a status, in words."""
    if spec is None:
        return "not declared"
    if spec.works_order is None:
        return "no Alto works order"
    kept = " (an existing one left as it is)" if spec.unchanged else ""
    return f"Alto works order {spec.works_order}{kept}"


def _status_lines(name: str, spec: StatusSpec | None) -> list[str]:
    """The lines of a status's label: name and id, what Alto holds, docs/charge marks."""
    lines = [name if spec is None else f"{name} ({spec.id})", _works_order(spec)]
    if spec is not None:
        marks = [*(["docs"] if spec.attach else []), *(["charge"] if spec.charge else [])]
        if marks:
            lines.append(" + ".join(marks))
    return lines


def _case_lines(spec: StatusSpec) -> list[str]:
    """One line per status case: its id, when it applies, what Alto gets instead."""
    lines = []
    for case in spec.cases:
        changes = dict(case.changes)
        works = changes.get("works_order", spec.works_order)
        attach = changes.get("attach", spec.attach)
        charge = changes.get("charge", spec.charge)
        parts = ["no Alto works order" if works is None else f"Alto works order {works}"]
        parts += [*(["docs"] if attach else []), "charge" if charge else "no charge"]
        lines.append(f"{case.id} (when {case.check.text}) gives {', '.join(parts)}")
    return lines


def _statuses(lifecycle: Lifecycle) -> list[str]:
    """Every status, declared ones first, then any an event names but none declares."""
    names = list(lifecycle.statuses)
    for event in lifecycle.events.values():
        names += [name for name in (*event.sources, event.to) if name not in names]
    if lifecycle.start not in names:
        names.insert(0, lifecycle.start)
    return names


def _transitions(lifecycle: Lifecycle) -> Iterator[_Transition]:
    for event in lifecycle.events.values():
        guard = None if event.guard is None else event.guard.text
        for source in event.sources or (None,):
            yield _Transition(source, event.to, event.name, guard)


def _mermaid_label(value: str) -> str:
    """`value` on one line (runs of white space as one space, as Mermaid shows them) with
    every character that would end or change a label as an entity code (a dash after a
    dash too, so no label holds an arrow)."""
    escaped = "".join(_MERMAID_ENTITIES.get(char, char) for char in " ".join(value.split()))
    return escaped.replace("--", "-#45;")


def _mermaid_ids(names: list[str]) -> dict[str, str]:
    """A Mermaid state id per status: the name itself when it is a plain word."""
    ids: dict[str, str] = {}
    for number, name in enumerate(names, start=1):
        plain = _PLAIN_ID.match(name) and name not in ("state", "note", "end", "direction")
        ids[name] = name if plain and name not in ids.values() else f"status_{number}"
    return ids


def mermaid(lifecycle: Lifecycle) -> str:
    """The lifecycle as a Mermaid ``stateDiagram-v2`` (for Markdown that renders Mermaid).

    Args:
        lifecycle: the compiled lifecycle of a ruleset.

    Example:
        >>> from engine import load_ruleset
        >>> diagram = mermaid(load_ruleset("rulesets/alto-fixflo/v2.yaml").lifecycle)
        >>> "Closed --> [*]" in diagram
        True
    """
    names = _statuses(lifecycle)
    ids = _mermaid_ids(names)
    lines = ["stateDiagram-v2", "    direction TB"]
    for name in names:
        label = "<br/>".join(
            _mermaid_label(line) for line in _status_lines(name, _spec(lifecycle, name))
        )
        lines.append(f'    state "{label}" as {ids[name]}')
    creates = False
    for move in _transitions(lifecycle):
        creates = creates or move.source is None
        source = "[*]" if move.source is None else ids[move.source]
        lines.append(f"    {source} --> {ids[move.target]} : {_mermaid_label(move.label)}")
    if not creates:
        lines.append(f"    [*] --> {ids[lifecycle.start]}")
    lines += [f"    {ids[name]} --> [*]" for name in names if name in lifecycle.final]
    for name in names:
        spec = _spec(lifecycle, name)
        for line in _case_lines(spec) if spec else []:
            lines.append(f"    note right of {ids[name]} : {_mermaid_label(line)}")
    return "\n".join(lines) + "\n"


def _dot_string(value: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, lines as ``\\n``."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\r", "").replace("\n", "\\n") + '"'


def dot(lifecycle: Lifecycle) -> str:
    """The lifecycle as a Graphviz DOT digraph (``dot -Tsvg`` draws it).

    Args:
        lifecycle: the compiled lifecycle of a ruleset.

    Example:
        >>> from engine import load_ruleset
        >>> diagram = dot(load_ruleset("rulesets/alto-fixflo/v2.yaml").lifecycle)
        >>> '"JobCompleted" -> "Closed" [label="close"];' in diagram
        True
    """
    names = _statuses(lifecycle)
    lines = [
        "digraph lifecycle {",
        "    rankdir=TB;",
        "    node [shape=box, style=rounded];",
        '    "[start]" [shape=point, label=""];',
        '    "[end]" [shape=doublecircle, label="", width=0.2];',
    ]
    for name in names:
        label = "\n".join(_status_lines(name, _spec(lifecycle, name)))
        lines.append(f"    {_dot_string(name)} [label={_dot_string(label)}];")
    creates = False
    for move in _transitions(lifecycle):
        creates = creates or move.source is None
        source = '"[start]"' if move.source is None else _dot_string(move.source)
        lines.append(
            f"    {source} -> {_dot_string(move.target)} [label={_dot_string(move.label)}];"
        )
    if not creates:
        lines.append(f'    "[start]" -> {_dot_string(lifecycle.start)};')
    lines += [f'    {_dot_string(name)} -> "[end]";' for name in names if name in lifecycle.final]
    for number, name in enumerate(names, start=1):
        spec = _spec(lifecycle, name)
        for index, line in enumerate(_case_lines(spec) if spec else [], start=1):
            note = _dot_string(f"[case {number}.{index}]")
            lines.append(f"    {note} [shape=note, label={_dot_string(line)}];")
            lines.append(f"    {_dot_string(name)} -> {note} [style=dashed, arrowhead=none];")
    return "\n".join([*lines, "}"]) + "\n"


CURRENT = "▶ "
"""`text` puts this before the current status's line (and ``  ◀ now`` after it)."""
LAST = "» "
"""`text` puts this before the line of the last transition (and ``  « last step`` after it)."""


def text(
    lifecycle: Lifecycle,
    current: str | None = None,
    last: tuple[str | None, str] | None = None,
) -> str:
    """The lifecycle as plain text for a terminal: each status, then the events leaving it.

    With `current` or `last`, plain-text marks say where an issue is: the current status's
    line starts with `CURRENT` (``▶ ``) and ends with ``  ◀ now``; the transition taken last
    (`last` is ``(from_status, event)``, from_status None for an event that creates the
    issue) starts with `LAST` (``» ``, in place of the indent) and ends with ``  « last step``.
    A name the lifecycle does not have marks nothing. Without either, the output is exactly
    what ``rulebridge graph --format text`` prints.

    Args:
        lifecycle: the compiled lifecycle of a ruleset.
        current: the status to mark as current.
        last: the transition to mark as the last one taken.

    Example:
        >>> from engine import load_ruleset
        >>> lifecycle = load_ruleset("rulesets/alto-fixflo/v2.yaml").lifecycle
        >>> print(text(lifecycle).splitlines()[0])
        Lifecycle of fixflo.issues (status field Status): starts at Reported, ends at Closed.
        >>> marked = text(lifecycle, current="Closed", last=("JobCompleted", "close"))
        >>> [line for line in marked.splitlines() if line.startswith(CURRENT)][0][:20]
        '▶ Closed (W-09): Alt'
        >>> [line for line in marked.splitlines() if line.startswith(LAST)]
        ['» close              --> Closed  « last step']
    """
    final = ", ".join(name for name in _statuses(lifecycle) if name in lifecycle.final)
    lines = [
        f"Lifecycle of {lifecycle.source} (status field {lifecycle.status_field}): "
        f"starts at {lifecycle.start}, ends at {final or 'no final status'}."
    ]
    moves = list(_transitions(lifecycle))
    width = max((len(move.event) for move in moves), default=0)
    creating = [move for move in moves if move.source is None]
    if creating:
        lines += ["", "(new)"]
        lines += [_text_move(move, width, last) for move in creating]
    for name in _statuses(lifecycle):
        spec = _spec(lifecycle, name)
        head, *rest = _status_lines(name, spec)
        heading = f"{head}: {'; '.join(rest)}"
        lines += ["", f"{CURRENT}{heading}  ◀ now" if name == current else heading]
        lines += [f"  case {line}" for line in (_case_lines(spec) if spec else [])]
        leaving = [move for move in moves if move.source == name]
        lines += [_text_move(move, width, last) for move in leaving]
        if name in lifecycle.final:
            lines.append("  (final)")
    return "\n".join(lines) + "\n"


def _text_move(move: _Transition, width: int, last: tuple[str | None, str] | None = None) -> str:
    guard = "" if move.guard is None else f"  (only when {move.guard})"
    line = f"{move.event.ljust(width)}  --> {move.target}{guard}"
    if last is not None and (move.source, move.event) == last:
        return f"{LAST}{line}  « last step"
    return f"  {line}"


_RENDERERS: dict[Format, Callable[[Lifecycle], str]] = {
    "mermaid": mermaid,
    "dot": dot,
    "text": text,
}


def render(lifecycle: Lifecycle, output: Format = "mermaid") -> str:
    """The lifecycle drawn in `output` (one of `FORMATS`).

    Args:
        lifecycle: the compiled lifecycle of a ruleset.
        output: ``mermaid``, ``dot`` or ``text``.

    Raises:
        ValueError: `output` is not one of `FORMATS`.

    Example:
        >>> from engine import load_ruleset
        >>> lifecycle = load_ruleset("rulesets/alto-fixflo/v2.yaml").lifecycle
        >>> render(lifecycle, "dot").startswith("digraph lifecycle {")
        True
    """
    if output not in _RENDERERS:
        raise ValueError(f"unknown diagram format {output!r}: use one of {', '.join(FORMATS)}")
    return _RENDERERS[output](lifecycle)


def _spec(lifecycle: Lifecycle, name: str) -> StatusSpec | None:
    return lifecycle.statuses.get(name)
