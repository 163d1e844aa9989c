"""Scenario files as the TUI reads and writes them, keeping what the author wrote.

`ScenarioFile.read` loads a scenario (`simulator.lifecycle.load_scenario`) and keeps the
file's text and, from the positions the YAML reader records, where each top-level key and
each step is written. `ScenarioFile.render` writes a timeline back over that text:

- nothing changed: the text, byte for byte;
- a step unchanged keeps its exact text (comments, flow or block style, ``note:``,
  ``expect:``); the comments before it go with it (a dropped step's go too);
- a changed or new step is written in the canonical style (`dump_yaml` flow style, as
  `scenario_text` writes it); one that replaces a step of the file with the same event (by
  position, or the same step annotated) keeps that step's raw ``expect:`` and its
  ``note:`` unless the note was changed;
- the header (the schema comment, ``scenario:``, ``summary:``, ``settings:``, comments)
  is kept; ``summary:`` and ``settings:`` are written anew only when they changed.

`scenario_text` writes a new scenario file; `save_text` writes atomically.

Example:
    >>> from engine import load_ruleset
    >>> ruleset = load_ruleset("rulesets/alto-fixflo/v2.yaml")
    >>> source = ScenarioFile.read("simulator/scenarios/zero-invoice.yaml", ruleset)
    >>> scenario = source.scenario
    >>> source.render(scenario.steps, scenario.settings, scenario.summary) == source.text
    True
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.documents import dump_yaml, parse_document
from engine.language.ruleset import CompiledRuleset
from simulator.lifecycle import Scenario, Step, load_scenario
from tui.model._spans import Spans, find_spans

__all__ = ["SCHEMA", "ScenarioFile", "save_text", "scenario_text", "step_data"]

SCHEMA = Path(__file__).resolve().parents[2] / "engine" / "schema" / "scenario.schema.json"
"""The JSON schema of scenario files (editors validate a file whose first line names it)."""


@dataclass(frozen=True, slots=True)
class ScenarioFile:
    """A scenario read from `path`: the `scenario`, the file's `text` as it was read, and
    where its parts are written (`spans`)."""

    path: Path
    text: str
    scenario: Scenario
    raw: tuple[Mapping[str, Any], ...]
    spans: Spans

    @classmethod
    def read(cls, path: str | os.PathLike[str], ruleset: CompiledRuleset) -> ScenarioFile:
        """Read the scenario file at `path` for `ruleset`.

        Raises:
            RulesetErrors: the file cannot be read or is not a scenario of the ruleset
                (every problem, located).
        """
        scenario = load_scenario(path, ruleset)
        raw = Path(path).read_bytes()
        document = parse_document(raw, str(path))
        text = raw.decode("utf-8")
        items = document.data.get("steps") if isinstance(document.data, Mapping) else None
        mappings = tuple(item for item in items or [] if isinstance(item, Mapping))
        return cls(Path(path), text, scenario, mappings, find_spans(document, text))

    def render(self, steps: Sequence[Step], settings: Mapping[str, Any], summary: str) -> str:
        """The file's text with `steps`, `settings` and `summary` in place of its own (see
        the module's docstring for what is kept)."""
        original = self.scenario
        same_summary = summary.split() == original.summary.split()
        same_settings = dict(settings) == dict(original.settings)
        if list(steps) == list(original.steps) and same_summary and same_settings:
            return self.text
        lines = self.text.splitlines(keepends=True)
        parts: dict[str, list[str]] = {}
        if not same_summary:
            parts["summary"] = _block({"summary": summary}) if summary else []
        if not same_settings:
            parts["settings"] = _block({"settings": dict(settings)}) if settings else []
        if list(steps) != list(original.steps):
            parts["steps"] = self._steps(lines, steps)
        return "".join(self._assemble(lines, parts))

    def _assemble(self, lines: list[str], parts: dict[str, list[str]]) -> list[str]:
        """`lines` with each top-level key in `parts` written anew (added if missing:
        ``summary:`` after ``scenario:``, ``settings:`` before ``steps:``)."""
        keys = self.spans.keys
        out: list[str] = []
        at = 0
        for name, span in sorted(keys.items(), key=lambda item: item[1].start):
            _extend(out, lines[at : span.start])
            if name == "steps" and "settings" not in keys:
                _extend(out, parts.get("settings", []))
            _extend(out, parts.get(name, lines[span.start : span.end]))
            if name == "scenario" and "summary" not in keys:
                _extend(out, parts.get("summary", []))
            at = span.end
        _extend(out, lines[at:])
        return out

    def _steps(self, lines: list[str], steps: Sequence[Step]) -> list[str]:
        """The ``steps:`` key and its items: unchanged steps as written, others canonical."""
        spans, original = self.spans, self.scenario.steps
        whole = spans.keys["steps"]
        if spans.items is None:  # a flow-style list: written anew as a whole
            return ["steps:\n", *_items([_data(step) for step in steps], 2)]
        head = lines[whole.start : spans.items[0].start] if spans.items else ["steps:\n"]
        by_line = {step.line: index for index, step in enumerate(original) if step.line}
        kept = {step.line for step in steps if step.line in by_line}
        out = list(head)
        for position, step in enumerate(steps):
            index = by_line.get(step.line) if step.line else None
            if index is None and position < len(original) and original[position].line not in kept:
                index = position  # a new step in the place of one of the file's
            if index is None or not _replaces(original[index], step):
                _extend(out, _items([_data(step)], spans.indent))
                continue
            item = spans.items[index]
            _extend(out, lines[item.lead : item.start])
            if step == original[index]:
                _extend(out, lines[item.start : item.end])
            else:
                data = _data(step, original[index], self.raw[index])
                _extend(out, _items([data], spans.indent))
        if spans.items:  # comments after the last step, inside the list
            _extend(out, lines[spans.items[-1].end : whole.end])
        return out


def _extend(out: list[str], more: list[str]) -> None:
    """Add `more` lines to `out`, ending `out`'s last line first if it has no line break."""
    if more and out and not out[-1].endswith(("\n", "\r")):
        out[-1] += "\n"
    out += more


def _replaces(old: Step, new: Step) -> bool:
    return (old.event, old.issue, old.redeliver) == (new.event, new.issue, new.redeliver)


def _data(step: Step, old: Step | None = None, raw: Mapping[str, Any] | None = None) -> Any:
    """`step` canonical; replacing `old` (its raw mapping `raw`): with its ``expect:``, and
    its ``note:`` as written unless the note changed."""
    data = step_data(step)
    if old is None or raw is None:
        return data
    edited = step.line == old.line  # the same step changed (else a new one in its place)
    if step.note == old.note or (not edited and not step.note):
        data.pop("note", None)
        if "note" in raw:
            data["note"] = raw["note"]
    if "expect" in raw:
        data["expect"] = raw["expect"]
    return data


def _block(data: Mapping[str, Any]) -> list[str]:
    """A top-level key: its value in flow style (a scalar stays in block style)."""
    flow = None if any(isinstance(value, Mapping) for value in data.values()) else False
    text = dump_yaml(dict(data), sort_keys=False, default_flow_style=flow, width=100)
    return text.splitlines(keepends=True)


def _items(items: list[Any], indent: int) -> list[str]:
    text = dump_yaml(items, sort_keys=False, default_flow_style=None, width=100)
    return [" " * indent + line for line in text.splitlines(keepends=True)]


def scenario_text(
    name: str,
    summary: str,
    steps: Sequence[Step],
    settings: Mapping[str, Any] | None = None,
    folder: str | os.PathLike[str] | None = None,
) -> str:
    """`steps` (under agency `settings`) as a new scenario file that `rulebridge simulate`
    replays. With `folder` (where the file goes) inside this checkout, the first line names
    the scenario schema (relative to `folder`) for editors.

    Example:
        >>> print(scenario_text("s", "A test.", [Step(event="report", note="hi")]), end="")
        scenario: s
        summary: A test.
        steps:
        - {event: report, note: hi}
    """
    items = [step_data(step) for step in steps]
    data: dict[str, Any] = {"scenario": name, "summary": summary}
    if settings:
        data["settings"] = dict(settings)
    data["steps"] = items
    text = dump_yaml(data, sort_keys=False, default_flow_style=None, width=100)
    return _schema_line(Path(folder)) + text if folder is not None else text


def _schema_line(folder: Path) -> str:
    checkout = SCHEMA.parents[2]
    where = folder.resolve()
    if where != checkout and checkout not in where.parents:
        return ""
    relative = Path(os.path.relpath(SCHEMA, where)).as_posix()
    return f"# yaml-language-server: $schema={relative}\n"


def step_data(step: Step) -> dict[str, Any]:
    """`step` as a scenario file writes it (its ``note:``; an ``expect:`` is kept only as
    written, see `ScenarioFile.render`)."""
    item: dict[str, Any] = {"event": step.event} if step.event else {"redeliver": step.redeliver}
    if step.issue != "I1":
        item["issue"] = step.issue
    if step.details:
        item["with"] = dict(step.details)
    if step.event and not step.deliver:
        item["deliver"] = False
    if step.note:
        item["note"] = step.note
    return item


def save_text(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` to `path` atomically: a temporary file beside it, then a rename, so an
    error leaves the old file as it was (an existing file keeps its permissions).

    Raises:
        OSError: the folder cannot be written (nothing at `path` changed).
    """
    target = Path(path)
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(name, mode)
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
