"""Snapshots: the records an adapter read from Alto or Fixflo, kept as one JSON file.

Files are streamed both ways, so a million records never sit in memory. `read_header` checks
the whole file's shape and hashes it; `iter_records` streams one collection and
`iter_snapshot` all of them in one pass, checking each record against
``schema/snapshot.schema.json``; `write_snapshot` writes atomically. Reading
is linear in the file's size however deeply it nests, and holds one record at a time, of
bounded depth and size (`RecordLimits`, `engine.snapshot._build`).

Errors::

    RulebridgeError (engine.errors)
    ├── SnapshotError    the file cannot be used at all: missing, not UTF-8, not JSON,
    │                    wrong or unknown system, unknown top-level key, bad header value
    └── RecordError      one record breaks its schema, or is nested too deep or too large:
                         yielded in its place, reading goes on

Example::

    for item in iter_records("alto.json", "inventory"):
        print(item)  # a dict, or RecordError: alto.json#inventory[41] (record 12345): ...
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import tempfile
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final

import ijson  # type: ignore[import-untyped]

from engine.errors import RecordError, RulebridgeError
from engine.snapshot import schema
from engine.snapshot._build import DEFAULT_LIMITS, Abandoned, RecordLimits, build_items

__all__ = [
    "SnapshotError",
    "SnapshotHeader",
    "iter_records",
    "iter_snapshot",
    "read_header",
    "write_snapshot",
]

StrPath = str | os.PathLike[str]
_CHUNK: Final = 1 << 16
_OPEN: Final = {"start_map": "object", "start_array": "array"}
_CLOSE: Final = frozenset({"end_map", "end_array"})
_EMPTY: Final[dict[str, object]] = {"object": {}, "array": []}
_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, allow_nan=False)


class SnapshotError(RulebridgeError):
    """A snapshot file that cannot be used at all: which file, where if known, and why.

    Prints as ``path: message``, or ``path:line:column: message`` when the place is known.
    """

    def __init__(self, path: StrPath, message: str, *, line: int = 0, column: int = 0) -> None:
        self.path, self.message, self.line, self.column = os.fspath(path), message, line, column
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.column}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class SnapshotHeader:
    """The top level of a snapshot that passed `read_header`'s checks.

    `sha256` is the digest of the file's bytes; `collections` are those present in the file
    (possibly empty), in file order.
    """

    system: str
    taken_at: str
    agency_ref: str | None
    path: Path
    sha256: str
    collections: tuple[str, ...]


def read_header(path: StrPath, *, system: str | None = None) -> SnapshotHeader:
    """Check a snapshot's shape in one streaming pass over the file and return its header.

    Args:
        path: the snapshot file.
        system: when given, the system (``alto`` or ``fixflo``) the file must come from.

    Raises:
        SnapshotError: the file is missing, not UTF-8 or not JSON, or its top level is wrong.

    Example::

        read_header("alto.json").collections  # ("inventory", "owners", "contacts", ...)
    """
    with _open(path) as raw, _reading(path):
        reader = _HashingReader(path, raw)
        top = _scan(ijson.basic_parse(reader, use_float=True))
        digest = reader.finish()
    found = _check_top_level(path, top, system)
    return SnapshotHeader(
        system=found,
        taken_at=top.values["taken_at"],
        agency_ref=top.values.get("agency_ref"),
        path=Path(path),
        sha256=digest,
        collections=tuple(key for key in top.kinds if key in schema.collections_of(found)),
    )


def iter_records(
    path: StrPath,
    collection: str,
    *,
    header: SnapshotHeader | None = None,
    limits: RecordLimits = DEFAULT_LIMITS,
) -> Iterator[dict[str, Any] | RecordError]:
    """Stream one collection's records, each checked against its schema.

    A bad record comes out as a `RecordError` in its place and reading goes on; so does one
    nested deeper or larger than `limits` allow, which is never built whole. A collection
    the file lacks yields nothing. The top level is checked first, by `read_header` unless
    `header` (this file's, from `read_header`) is given: pass it to check it only once.

    Raises:
        SnapshotError: the file is unusable, `collection` is not one of its system's, or the
            file changed since `header` was read.

    Example::

        records = list(iter_records("alto.json", "inventory"))
    """
    if header is not None and Path(path) != header.path:
        raise ValueError(f"header is for {header.path}, not {path}")
    head = header if header is not None else read_header(path)
    try:
        checks = schema.collection_schema(head.system, collection)
    except KeyError:
        names = schema.collections_of(head.system)
        hint = schema.suggest(collection, names)
        message = f'no collection "{collection}" in {head.system} snapshots{hint}; they hold '
        raise SnapshotError(path, message + ", ".join(names)) from None
    if collection not in head.collections:
        return iter(())
    return (record for _, record in _stream(path, head, {collection: checks}, limits))


def iter_snapshot(
    path: StrPath, *, header: SnapshotHeader | None = None, limits: RecordLimits = DEFAULT_LIMITS
) -> Iterator[tuple[str, dict[str, Any] | RecordError]]:
    """Stream every collection's records in one pass, in file order, as ``(collection,
    record)``; records are checked as `iter_records` checks them.

    Raises:
        SnapshotError: the file is unusable, or changed since `header` was read.

    Example::

        for collection, item in iter_snapshot("alto.json"):
            print(collection, item)  # inventory {'inventoryId': '100001', ...}
    """
    if header is not None and Path(path) != header.path:
        raise ValueError(f"header is for {header.path}, not {path}")
    head = header if header is not None else read_header(path)
    checks = {name: schema.collection_schema(head.system, name) for name in head.collections}
    return _stream(path, head, checks, limits)


def write_snapshot(
    path: StrPath,
    system: str,
    collections: Mapping[str, Iterable[Mapping[str, Any]]],
    taken_at: str | datetime,
    agency_ref: str | None = None,
) -> dict[str, int]:
    """Write records one at a time, one a line, then replace `path` atomically.

    Nothing is held in memory, so generators of a million records are fine, and the same
    records give the same bytes. Returns how many records each collection received.

    Args:
        path: the file to write; its folder must exist.
        system: ``alto`` or ``fixflo``.
        collections: collection name to records, written in this order.
        taken_at: an aware datetime, or ISO 8601 text with a zone.
        agency_ref: the agency's reference; left out of the file when None.

    Raises:
        SnapshotError: a bad system, collection name or header value, a record that is not
            JSON, or a file that cannot be written (nothing is left behind).

    Example::

        inventory = [{"inventoryId": "1"}]
        write_snapshot("alto.json", "alto", {"inventory": inventory}, "2026-11-22T02:00:00Z")
        # {'inventory': 1}
    """
    target = Path(path)
    header = _header_to_write(target, system, collections, taken_at, agency_ref)
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        message = f"cannot write here ({exc.strerror}); check the folder exists and is writable"
        raise SnapshotError(target, message) from exc
    try:
        with os.fdopen(handle, "wb") as out:
            counts = _write_body(out, target, header, collections)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise SnapshotError(target, f"could not write: {exc.strerror or exc}") from exc
        raise
    return counts


@dataclass
class _TopLevel:
    root: str = "object"
    kinds: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    duplicates: list[str] = field(default_factory=list)


class _HashingReader:
    """A binary file that hashes every byte read, skips a UTF-8 BOM, refuses other encodings."""

    def __init__(self, path: StrPath, raw: IO[bytes]) -> None:
        self._raw, self._hash = raw, hashlib.sha256()
        start = raw.read(4)
        problem = schema.sniff_encoding(start)
        if problem:
            raise SnapshotError(path, problem)
        skip = 3 if start.startswith(b"\xef\xbb\xbf") else 0
        self._hash.update(start[:skip])
        raw.seek(skip)

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._hash.update(data)
        return data

    def finish(self) -> str:
        """Read what is left and return the hex digest of the whole file."""
        while self.read(_CHUNK):
            pass
        return self._hash.hexdigest()


def _stream(
    path: StrPath,
    head: SnapshotHeader,
    checks: Mapping[str, schema.CollectionSchema],
    limits: RecordLimits,
) -> Iterator[tuple[str, dict[str, Any] | RecordError]]:
    """The records of the collections `checks` names, in file order, in one pass."""
    with _open(path) as raw, _reading(path):
        reader = _HashingReader(path, raw)
        events = ijson.basic_parse(reader, use_float=True)
        for name in _arrays(events, checks):
            check = checks[name]
            for index, record in enumerate(build_items(events, limits)):
                if type(record) is dict and check.is_valid(record):
                    yield name, record
                else:
                    yield name, _bad(record, check, f"{path}#{name}[{index}]")
        digest = reader.finish()
    if digest != head.sha256:
        raise SnapshotError(path, "the file changed while it was being read; read it again")


def _arrays(events: Iterator[tuple[str, Any]], wanted: Collection[str]) -> Iterator[str]:
    """Walk the top level of the file, stopping at the start of each array of `wanted`
    (its caller reads the array's items before asking for the next); stop after the last."""
    left = set(wanted)
    depth = 0
    for event, value in events:
        if event in _OPEN:
            depth += 1
        elif event in _CLOSE:
            depth -= 1
        elif depth == 1 and event == "map_key" and value in left:
            opened, _ = next(events)
            if opened == "start_array":
                yield value
            left.discard(value)
            if not left:
                return


def _bad(record: object, checks: schema.CollectionSchema, where: str) -> RecordError:
    if isinstance(record, Abandoned):
        message = f"{record.reason}, more than a snapshot record may be; left out"
        return RecordError(where=where, record_id=checks.record_id(record.partial), message=message)
    message = checks.explain(record) or "does not match the snapshot schema"
    return RecordError(where=where, record_id=checks.record_id(record), message=message)


def _scan(events: Iterator[tuple[str, Any]]) -> _TopLevel:
    """Collect the top-level keys, the kinds of their values and the scalar values."""
    first, _ = next(events)
    top = _TopLevel(root=_OPEN.get(first, first))
    if first != "start_map":
        return top
    key, depth = "", 0
    for event, value in events:
        if depth:
            if event in _OPEN:
                depth += 1
            elif event in _CLOSE:
                depth -= 1
        elif event == "map_key":
            key = value
            if key in top.kinds:
                top.duplicates.append(key)
        elif event in _OPEN:
            top.kinds[key], depth = _OPEN[event], 1
        elif event != "end_map":
            top.kinds[key], top.values[key] = event, value
    return top


@contextlib.contextmanager
def _reading(path: StrPath) -> Iterator[None]:
    """Turn the parser's and the file system's exceptions into SnapshotError."""
    try:
        yield
    except ijson.JSONError as exc:
        reason = exc.args[0] if exc.args else ""
        text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        message, line, column = schema.not_json(path, text.strip().partition("\n")[0])
        raise SnapshotError(path, message, line=line, column=column) from exc
    except OSError as exc:
        raise SnapshotError(path, f"could not read the file: {exc.strerror or exc}") from exc


@contextlib.contextmanager
def _open(path: StrPath) -> Iterator[IO[bytes]]:
    try:
        file = open(path, "rb")  # noqa: SIM115 - closed by the with below
    except FileNotFoundError as exc:
        raise SnapshotError(path, "no such file" + _nearby_files(Path(path))) from exc
    except IsADirectoryError as exc:
        raise SnapshotError(path, "this is a folder; give the path of a snapshot file") from exc
    except OSError as exc:
        raise SnapshotError(path, f"cannot open the file: {exc.strerror or exc}") from exc
    with file:
        yield file


def _nearby_files(path: Path) -> str:
    if not path.parent.is_dir():
        return f"; the folder {path.parent} does not exist either"
    names = [entry.name for entry in itertools.islice(path.parent.iterdir(), 1000)]
    return schema.suggest(path.name, names)


def _check_top_level(path: StrPath, top: _TopLevel, expected: str | None) -> str:
    if top.root != "object":
        found = schema.KIND_WORDS.get(top.root, top.root)
        raise SnapshotError(path, f'a snapshot is one JSON object {{"system": ...}}, not {found}')
    system = _system(path, top)
    if expected is not None and system != expected:
        message = f'"system" is "{system}" but a {expected} snapshot is needed here'
        raise SnapshotError(path, message + "; check which file you passed")
    if top.duplicates:
        message = f'"{top.duplicates[0]}" appears twice at the top level; merge the two'
        raise SnapshotError(path, message)
    _check_keys(path, top, system)
    # Records are checked as they are streamed: here collections stand in empty.
    skeleton = {key: top.values.get(key, _EMPTY.get(kind)) for key, kind in top.kinds.items()}
    errors = list(schema.header_validator(system).iter_errors(skeleton))
    if errors:
        raise SnapshotError(path, schema.explain(errors, subject="the file"))
    return system


def _system(path: StrPath, top: _TopLevel) -> str:
    value = top.values.get("system")
    if value in schema.SYSTEMS:
        return str(value)
    if "system" not in top.kinds:
        message = 'missing "system": add "system": "alto" or "system": "fixflo" at the top'
        raise SnapshotError(path, message)
    if isinstance(value, str):
        shown = json.dumps(value, ensure_ascii=False) + schema.suggest(value, schema.SYSTEMS)
    else:
        shown = schema.KIND_WORDS[top.kinds["system"]]
    raise SnapshotError(path, f'"system" is {shown}; it must be "alto" or "fixflo"')


def _check_keys(path: StrPath, top: _TopLevel, system: str) -> None:
    allowed = schema.header_keys(system) + schema.collections_of(system)
    unknown = [key for key in top.kinds if key not in allowed]
    if unknown:
        elsewhere = {
            key: f" (a {name} collection)"
            for name in schema.SYSTEMS
            for key in schema.collections_of(name)
        }
        notes = [f'"{key}"{elsewhere.get(key) or schema.suggest(key, allowed)}' for key in unknown]
        message = f"unknown top-level key {', '.join(notes)}; {system} snapshots hold only "
        raise SnapshotError(path, message + ", ".join(allowed))


def _header_to_write(
    target: Path,
    system: str,
    names: Iterable[str],
    taken_at: str | datetime,
    agency_ref: str | None,
) -> dict[str, object]:
    """The header to write, checked as `read_header` would check it."""
    header: dict[str, object] = {"system": system, "taken_at": _stamp(taken_at)}
    if agency_ref is not None:
        header["agency_ref"] = agency_ref
    kinds = dict.fromkeys(header, "string") | dict.fromkeys(names, "array")
    _check_top_level(target, _TopLevel(kinds=kinds, values=header), None)
    return header


def _stamp(taken_at: str | datetime) -> str:
    if isinstance(taken_at, str):
        return taken_at
    if taken_at.tzinfo is None:
        raise ValueError("taken_at must be an aware datetime (give it a tzinfo such as UTC)")
    return taken_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_body(
    out: IO[bytes],
    target: Path,
    header: Mapping[str, object],
    collections: Mapping[str, Iterable[Mapping[str, Any]]],
) -> dict[str, int]:
    out.write(_ENCODER.encode(header)[:-1].encode())
    counts: dict[str, int] = {}
    for name, records in collections.items():
        out.write(f",\n{json.dumps(name)}: [".encode())
        count = 0
        for record in records:
            out.write((b",\n" if count else b"\n") + _encode(target, name, count, record))
            count += 1
        out.write(b"\n]" if count else b"]")
        counts[name] = count
    out.write(b"\n}\n")
    return counts


def _encode(target: Path, name: str, index: int, record: object) -> bytes:
    try:
        return _ENCODER.encode(record).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise SnapshotError(target, f"{name}[{index}] cannot be written as JSON: {exc}") from exc
