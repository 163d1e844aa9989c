"""Reading a `migrate --since` baseline: an earlier output folder, streamed one record per
line, or an earlier export re-migrated today into a scratch folder in the same form.

Example::

    since_kind(Path("alto-loaded"))
    # 'output'
    for line, record in read_collection(Path("alto-loaded/contacts.json")):
        ...
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any

import click

from adapters.jupix import ExportError, JupixExport
from adapters.jupix.records import export_records
from engine import CompiledRuleset, RulebridgeError
from engine.migration import fingerprint, migrate
from engine.migration.catch_up import MANUAL
from rulebridge.cli._migrate_out import CollectionWriter, NullJournal, role_targets
from rulebridge.cli._out_folder import MARK, private_text

__all__ = [
    "CATCH_UP",
    "BaselineError",
    "BaselineSource",
    "manual_id",
    "read_baseline",
    "read_collection",
    "since_kind",
]

CATCH_UP = "catch-up"
_FIX = (
    "it is not as rulebridge migrate writes it (one record per line); restore the folder "
    "you loaded, or give --since the earlier export instead"
)
_HEAD_LINES = 2000


class BaselineError(RulebridgeError):
    """The --since baseline cannot be read; the message names the file, line and fix."""


def since_kind(path: Path) -> str:
    """``output`` or ``export``: what the --since folder is.

    Raises:
        click.UsageError: it is neither, a catch-up output (it holds only a delta) or an
            output without records (``migrate --check``).
    """
    if (path / MARK).is_file():
        if (path / f"{CATCH_UP}.json").exists():
            raise click.UsageError(
                f"--since {path}: this output is itself a catch-up: it holds only the records "
                "changed since its own baseline, not everything loaded. Give the full output "
                "you first loaded (what this catch-up listed is then listed again; loading a "
                "record twice gives the same record), or the latest export you loaded"
            )
        if not (path / "reconciliation.json").exists():
            raise click.UsageError(
                f"--since {path}: this output holds no records (it was written by migrate "
                "--check, or only partly); give the output folder of the migration you loaded"
            )
        return "output"
    if (path / "manifest.json").is_file():
        return "export"
    raise click.UsageError(
        f"--since {path}: neither an output folder of rulebridge migrate (no {MARK}) nor a "
        "Jupix export (no manifest.json); give the folder you loaded into Alto, or the "
        "earlier export"
    )


def read_collection(path: Path, key: str | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each record of a collection file the writer wrote, with its line number.

    Args:
        path: a ``<collection>.json`` (``[``, one object per line ending in ``,`` but the
            last, ``]``), or manual-actions.json when `key` is ``"actions"`` (the records
            are the lines of that array).
        key: the array to read inside an object, or None for a top-level array.

    Raises:
        BaselineError: the file cannot be read or a line is not in that format.
    """
    try:
        with path.open("rb") as stream:
            yield from _records(path, stream, key)
    except OSError as exc:
        raise BaselineError(f"{path}: cannot be read ({exc.strerror or exc})") from exc


def _records(
    path: Path, stream: IO[bytes], key: str | None
) -> Iterator[tuple[int, dict[str, Any]]]:
    lines = enumerate(stream, 1)
    opening = "[" if key is None else f'"{key}": ['
    number, text = 0, ""
    for number, raw in lines:
        text = _text(path, number, raw)
        if text in (opening, opening + "]") or key is None:
            break
    if text == opening + "]":
        _end(path, lines, key)
        return
    if text != opening:
        where = f"{path}:{number or 1}"
        raise BaselineError(f"{where}: expected {opening!r}, found {text[:40]!r}; {_FIX}")
    expect, seen = True, False
    for number, raw in lines:
        text = _text(path, number, raw)
        if text == "]":
            if seen and expect:
                raise BaselineError(f"{path}:{number}: a record ends in ',' before ']'; {_FIX}")
            break
        if not expect:
            raise BaselineError(f"{path}:{number}: the record before it has no ','; {_FIX}")
        expect, seen = text.endswith(","), True
        yield number, _record(path, number, text[:-1] if expect else text)
    else:
        raise BaselineError(f"{path}:{number}: the file ends before its closing ']'; {_FIX}")
    _end(path, lines, key)


def _end(path: Path, lines: Iterator[tuple[int, bytes]], key: str | None) -> None:
    closing_lines = ("}",) if key is not None else ()
    for number, raw in lines:
        text = _text(path, number, raw)
        if text and text not in closing_lines:
            raise BaselineError(f"{path}:{number}: unexpected {text[:40]!r} after ']'; {_FIX}")


def _text(path: Path, number: int, raw: bytes) -> str:
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise BaselineError(f"{path}:{number}: not UTF-8 ({exc.reason}); {_FIX}") from exc


def _record(path: Path, number: int, text: str) -> dict[str, Any]:
    try:
        record = json.loads(text) if text.startswith("{") else None
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{path}:{number}: not a JSON record ({exc.msg}); {_FIX}") from exc
    if not isinstance(record, dict):
        raise BaselineError(f"{path}:{number}: not a JSON record; {_FIX}")
    return record


@dataclass(slots=True)
class BaselineSource:
    """Where the baseline's records are (an output folder, or the scratch re-migration)."""

    folder: Path
    kind: str
    given: str
    as_of: str | None
    exported_at: str | None
    collections: list[str]

    def records(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """``(collection, id, record)`` of every earlier record, streamed."""
        for name in self.collections:
            path = self.folder / f"{name}.json"
            if path.exists():
                for _, record in read_collection(path):
                    yield name, str(record.get("id")), record

    def manual(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(id, record)`` of every manual action listed before."""
        path = self.folder / "manual-actions.json"
        if path.exists():
            for _, record in read_collection(path, "actions"):
                yield manual_id(record), record

    def fingerprints(self) -> Iterator[tuple[str, str, str]]:
        for name, record_id, record in self.records():
            yield name, record_id, fingerprint(record)
        for record_id, record in self.manual():
            yield MANUAL, record_id, fingerprint(record)


def _head(folder: Path) -> tuple[str | None, str | None]:
    """The earlier run's as_of and export time, from the head of its reconciliation.json."""
    found: dict[str, str] = {}
    path = folder / "reconciliation.json"
    if not path.exists():
        return None, None
    with path.open("rb") as stream:
        for number, raw in enumerate(stream):
            match = re.match(rb'\s*"(as_of|exported_at)": "([^"]{1,40})"', raw)
            if match:
                found.setdefault(match[1].decode(), match[2].decode("utf-8", "replace"))
            if number > _HEAD_LINES or raw.startswith(b'  "differences"'):
                break
    return found.get("as_of"), found.get("exported_at")


def _remigrate(
    path: Path, ruleset: CompiledRuleset, as_of: date, collections: list[str], scratch: Path
) -> BaselineSource:
    """The earlier export migrated today into `scratch`, in the output folder's format."""
    try:
        export = JupixExport(path)
        broken = [problem for problem in export.check() if isinstance(problem, ExportError)]
        if broken:
            raise BaselineError(f"--since {path}: the export cannot be read: {broken[0]}")
        exported_at = export.manifest().exported_at
        listed = role_targets(ruleset, "manual")
        writer = CollectionWriter(scratch)
        with private_text(scratch / "manual-actions.json") as manual:
            manual.write('{\n  "actions": [')
            count = 0

            def emit(target: str, record: dict[str, Any]) -> None:
                nonlocal count
                if target in listed:
                    text = json.dumps(record, ensure_ascii=False, sort_keys=True)
                    manual.write(("," if count else "") + "\n    " + text)
                    count += 1
                else:
                    writer(target, record)

            try:
                records = export_records(export, ruleset.sources)
                migrate(ruleset, records, as_of=as_of, emit=emit, journal=NullJournal())
            finally:
                writer.close(collections)
            manual.write("\n  ]\n}\n")
    except ExportError as exc:
        raise BaselineError(f"--since {path}: {exc}") from exc
    except BaselineError:
        raise
    except RulebridgeError as exc:
        raise BaselineError(f"--since {path}: re-migrating it failed: {exc}") from exc
    return BaselineSource(scratch, "export", str(path), as_of.isoformat(), exported_at, collections)


def manual_id(record: dict[str, Any]) -> str:
    """A manual action's id (its fingerprint when its entity maps none)."""
    return str(record.get("id") or fingerprint(record))


def read_baseline(
    path: Path,
    ruleset: CompiledRuleset,
    as_of: date,
    collections: list[str],
    scratch: Path,
    warn: Callable[[str], None],
) -> BaselineSource:
    """The baseline at `path` (`since_kind`): an output folder as it is, or an export
    re-migrated into `scratch` (a private folder the caller removes).

    Raises:
        click.UsageError: `path` is neither, or a catch-up output.
        BaselineError: the export cannot be read or re-migrated.
    """
    if since_kind(path) == "export":
        return _remigrate(path, ruleset, as_of, collections, scratch)
    missing = [name for name in collections if not (path / f"{name}.json").exists()]
    if missing:
        warn(
            f"warning: --since {path} has no {', '.join(missing)}.json; every such "
            "record is counted as added"
        )
    return BaselineSource(path, "output", str(path), *_head(path), collections)
