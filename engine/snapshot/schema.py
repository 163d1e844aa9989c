"""What a snapshot file must be, and how to say what is wrong when it is not.

``schema/snapshot.schema.json`` is the single source of truth: a system's collections are
the array-valued properties of ``$defs/<system>_snapshot``; their ``items`` name the record
schemas. jsonschema is the authority, but it costs about 300 µs a record here (it builds a
validator object for every sub-schema it enters), so `compile_check` turns the few keywords
the schema uses into closures that decide *whether* a record is valid some twenty times
faster, and jsonschema explains only the records that are not. Compiling refuses keywords it
does not implement, and a property test checks that both agree on arbitrary data. The rest
turns problems into messages that say what is wrong and what to write instead.
"""

from __future__ import annotations

import codecs
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, partial, reduce
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from engine.documents.suggest import did_you_mean

SYSTEMS = ("alto", "fixflo")
_ANNOTATIONS = frozenset({"title", "description", "examples", "format", "x-hint", "$comment"})
_MISSING = object()
_MAX_PROBLEMS = 5
KIND_WORDS = {"object": "an object", "array": "a list", "null": "null", "boolean": "true or false"}
KIND_WORDS |= {"string": "a string", "number": "a number", "integer": "a whole number"}
_CHUNK = 1 << 16
_LOCATE_LIMIT = 16 << 20

Check = Callable[[object], bool]


@cache
def load_schema() -> dict[str, Any]:
    """The parsed ``snapshot.schema.json`` shipped inside the engine package."""
    text = resources.files("engine").joinpath("schema", "snapshot.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _snapshot_def(system: str) -> dict[str, Any]:
    snapshot: dict[str, Any] = load_schema()["$defs"][f"{system}_snapshot"]
    return snapshot


@cache
def collections_of(system: str) -> tuple[str, ...]:
    """The collection names a snapshot of `system` may hold, in schema order."""
    properties = _snapshot_def(system)["properties"]
    return tuple(name for name, sub in properties.items() if "items" in sub)


@cache
def header_keys(system: str) -> tuple[str, ...]:
    """The top-level keys of `system` snapshots that are not collections."""
    properties = _snapshot_def(system)["properties"]
    return tuple(name for name, sub in properties.items() if "items" not in sub)


@cache
def header_validator(system: str) -> Draft202012Validator:
    """A validator for the top level of a `system` snapshot (collections may be empty)."""
    return Draft202012Validator(
        {"$defs": load_schema()["$defs"], "$ref": f"#/$defs/{system}_snapshot"}
    )


@dataclass(frozen=True, slots=True)
class CollectionSchema:
    """How to check the records of one collection.

    Attributes:
        system: ``alto`` or ``fixflo``.
        name: the collection, e.g. ``inventory``.
        id_keys: the required keys that identify a record (one, or two for link records).
        is_valid: the fast check; true exactly when `validator` finds no error.
        validator: jsonschema's validator, used to explain invalid records.
    """

    system: str
    name: str
    id_keys: tuple[str, ...]
    is_valid: Check
    validator: Draft202012Validator

    def record_id(self, record: object) -> str | None:
        """The record's identifier as text, or None when it has none."""
        if not isinstance(record, dict):
            return None
        parts = [record.get(key) for key in self.id_keys]
        if not all(
            isinstance(part, (str, int, float)) and not isinstance(part, bool) for part in parts
        ):
            return None
        return " -> ".join(str(part) for part in parts)

    def explain(self, record: object) -> str:
        """What is wrong with an invalid record and how to fix it."""
        return explain(self.validator.iter_errors(record))


@cache
def collection_schema(system: str, name: str) -> CollectionSchema:
    """The compiled checks for collection `name` of `system` (KeyError if there is none)."""
    if name not in collections_of(system):
        raise KeyError(name)
    defs = load_schema()["$defs"]
    ref = _snapshot_def(system)["properties"][name]["items"]["$ref"]
    record_schema = defs[ref.rsplit("/", 1)[1]]
    return CollectionSchema(
        system=system,
        name=name,
        id_keys=tuple(record_schema["required"]),
        is_valid=compile_check(record_schema, defs),
        validator=Draft202012Validator({"$defs": defs, "$ref": ref}),
    )


# --- the fast check ---------------------------------------------------------------------


def compile_check(node: Mapping[str, Any], defs: Mapping[str, Any]) -> Check:
    """Compile a JSON Schema (the subset the snapshot schema uses) into a predicate.

    Implements type, properties, items, required, minLength, pattern, const and enum of
    strings, additionalProperties as a boolean, ``$ref`` into `defs`, and ignores annotations.

    Raises:
        ValueError: the schema uses a keyword this compiler does not implement.

    Example:
        >>> compile_check({"type": "string", "minLength": 1}, {})("x")
        True
    """
    checks: list[Check] = []
    for keyword, value in node.items():
        if keyword in _ANNOTATIONS or (keyword == "additionalProperties" and value is True):
            continue
        if keyword not in _KEYWORDS:
            raise ValueError(f"the fast snapshot check does not implement {keyword!r}")
        checks.append(_KEYWORDS[keyword](value, node, defs))
    start: Check = _anything
    return reduce(_both, checks, start)


def _anything(_instance: object) -> bool:
    return True


def _both(first: Check, second: Check) -> Check:
    return second if first is _anything else lambda instance: first(instance) and second(instance)


def _ref(value: str, _node: object, defs: Mapping[str, Any]) -> Check:
    if not value.startswith("#/$defs/"):
        raise ValueError(
            f"the fast snapshot check resolves only #/$defs/ references, not {value!r}"
        )
    return compile_check(defs[value.removeprefix("#/$defs/")], defs)


def _type(value: str | list[str], _node: object, _defs: object) -> Check:
    names = [value] if isinstance(value, str) else value
    plain = tuple(_PLAIN_TYPES[name] for name in names if name in _PLAIN_TYPES)
    integer, number = "integer" in names, "number" in names

    def check(instance: object) -> bool:
        if isinstance(instance, plain):
            return True
        if isinstance(instance, bool) or not isinstance(instance, (int, float)):
            return False
        return number or (integer and (isinstance(instance, int) or instance.is_integer()))

    return check


def _properties(value: Mapping[str, Any], _node: object, defs: Mapping[str, Any]) -> Check:
    pairs = tuple((key, compile_check(sub, defs)) for key, sub in value.items())

    def check(instance: object) -> bool:
        if not isinstance(instance, dict):
            return True
        for key, sub in pairs:
            item = instance.get(key, _MISSING)
            if item is not _MISSING and not sub(item):
                return False
        return True

    return check


def _items(value: Mapping[str, Any], _node: object, defs: Mapping[str, Any]) -> Check:
    sub = compile_check(value, defs)
    return lambda instance: not isinstance(instance, list) or all(map(sub, instance))


def _closed(_value: bool, node: Mapping[str, Any], _defs: object) -> Check:
    allowed = frozenset(node.get("properties", ()))
    return lambda instance: not isinstance(instance, dict) or allowed.issuperset(instance)


def _required(value: list[str], _node: object, _defs: object) -> Check:
    return lambda instance: not isinstance(instance, dict) or all(key in instance for key in value)


def _min_length(value: int, _node: object, _defs: object) -> Check:
    return lambda instance: not isinstance(instance, str) or len(instance) >= value


def _pattern(value: str, _node: object, _defs: object) -> Check:
    search = re.compile(value).search
    return lambda instance: not isinstance(instance, str) or search(instance) is not None


def _enum(value: list[Any], _node: object, _defs: object) -> Check:
    if not all(isinstance(option, str) for option in value):
        raise ValueError("the fast snapshot check implements const and enum of strings only")
    allowed = frozenset(value)
    return lambda instance: isinstance(instance, str) and instance in allowed


_PLAIN_TYPES: dict[str, type] = {
    "string": str,
    "null": type(None),
    "boolean": bool,
    "object": dict,
    "array": list,
}
_KEYWORDS: dict[str, Callable[[Any, Mapping[str, Any], Mapping[str, Any]], Check]] = {
    "$ref": _ref,
    "type": _type,
    "properties": _properties,
    "items": _items,
    "additionalProperties": _closed,
    "required": _required,
    "minLength": _min_length,
    "pattern": _pattern,
    "enum": _enum,
    "const": lambda value, node, defs: _enum([value], node, defs),
}


# --- explaining errors ------------------------------------------------------------------


def explain(errors: Iterable[ValidationError], subject: str = "the record") -> str:
    """Turn jsonschema errors into one message saying what is wrong and what to write instead.

    Example:
        >>> validator = Draft202012Validator({"required": ["id"], "properties": {"id": {}}})
        >>> explain(validator.iter_errors({}))
        'missing "id": add it'
    """
    problems = list(dict.fromkeys(line for error in errors for line in _describe(error, subject)))
    shown = sorted(problems)[:_MAX_PROBLEMS]
    if len(problems) > len(shown):
        shown.append(f"and {len(problems) - len(shown)} more")
    return "; ".join(shown)


def _describe(error: ValidationError, subject: str) -> list[str]:
    where = _where(error.absolute_path) or subject
    node: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    value: Any = error.validator_value
    keyword, found = error.validator, _show(error.instance)
    if keyword == "required":
        return _missing(node, error.instance, value, "" if where == subject else f"{where}: ")
    if keyword == "type":
        return [f"{where} is {found}, expected {node.get('x-hint') or _type_words(value)}"]
    if keyword in ("pattern", "minLength") and "x-hint" in node:
        return [f"{where} is {found}, expected {node['x-hint']}"]
    if keyword in ("const", "enum"):
        options = value if keyword == "enum" else [value]
        return [f"{where} is {found}, expected {' or '.join(json.dumps(o) for o in options)}"]
    return [f"{where}: {error.message}"]


def _missing(node: dict[str, Any], instance: object, keys: Any, prefix: str) -> list[str]:
    hints = {key: sub.get("x-hint", "it") for key, sub in node.get("properties", {}).items()}
    present = instance if isinstance(instance, dict) else {}
    return [f'{prefix}missing "{k}": add {hints.get(k, "it")}' for k in keys if k not in present]


def _where(path: Iterable[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _show(value: object) -> str:
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, dict | list):
        return "an object" if isinstance(value, dict) else "a list"
    if value == "":
        return "the empty string"
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)
    kind = "string" if isinstance(value, str) else "number"
    return f"the {kind} {text if len(text) <= 40 else text[:37] + '...'}"


def _type_words(types: Any) -> str:
    names = [types] if isinstance(types, str) else types
    return " or ".join(KIND_WORDS.get(name, name) for name in names)


# --- diagnosing files that are not UTF-8 JSON ----------------------------------------------


def sniff_encoding(start: bytes) -> str | None:
    """Why a file whose first bytes are `start` cannot be a snapshot, or None if it may be."""
    if not start:
        return 'the file is empty; a snapshot is a JSON object such as {"system": "alto", ...}'
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in start:
        return "the file is UTF-16 or UTF-32, not UTF-8; save it as UTF-8"
    return None


def find_bad_utf8(path: str | os.PathLike[str]) -> tuple[int, int, int] | None:
    """The line, column and value of the first byte that is not UTF-8, streaming the file.

    Example::

        find_bad_utf8("latin1.json")  # (3, 18, 233): line 3, column 18, byte 0xe9
    """
    line, column, carry = 1, 0, b""
    try:
        with open(path, "rb") as file:
            for chunk in iter(partial(file.read, _CHUNK), b""):
                data, carry = carry + chunk, b""
                try:
                    data.decode("utf-8")
                except UnicodeDecodeError as error:
                    if error.reason != "unexpected end of data":
                        line, column = _advance(line, column, data[: error.start])
                        return line, column + 1, data[error.start]
                    data, carry = data[: error.start], data[error.start :]
                line, column = _advance(line, column, data)
    except OSError:
        return None
    return (line, column + 1, carry[0]) if carry else None


def _advance(line: int, column: int, data: bytes) -> tuple[int, int]:
    newlines = data.count(b"\n")
    last = len(data.rpartition(b"\n")[2].decode("utf-8"))
    return (line + newlines, last) if newlines else (line, column + last)


def suggest(word: str, options: Sequence[str]) -> str:
    """A ``(did you mean "x"?)`` note for the closest of `options`, or the empty string."""
    return did_you_mean(word, options, quote=json.dumps)


def not_json(path: str | os.PathLike[str], reason: str) -> tuple[str, int, int]:
    """Message, line and column for a file the streaming parser rejected for `reason`."""
    bad = find_bad_utf8(path)
    if bad is not None:
        line, column, byte = bad
        return f"the file is not UTF-8 (byte 0x{byte:02X}); save it as UTF-8", line, column
    line, column, detail = json_error_position(path)
    if "premature EOF" in reason:
        message = "the JSON stops before its end (was the file cut off?); take the snapshot again"
    elif "integer overflow" in reason:
        message = "a whole number is too large to read (over 64 bits); write it as a string"
    elif "trailing garbage" in reason:
        message = "there is more text after the snapshot's closing brace; remove it"
    else:
        message = f"not valid JSON ({detail or reason}); correct it or take the snapshot again"
    return message, line, column


def json_error_position(path: str | os.PathLike[str]) -> tuple[int, int, str | None]:
    """Line, column and reason of the first JSON syntax error, from Python's own parser.

    The streaming parser does not report positions, so a file that failed to parse is read
    again whole; files over 16 MiB are not, and give ``(0, 0, None)``.
    """
    try:
        if os.path.getsize(path) <= _LOCATE_LIMIT:
            json.loads(Path(path).read_bytes().decode("utf-8-sig"))
    except json.JSONDecodeError as error:
        return error.lineno, error.colno, error.msg
    except (OSError, ValueError, RecursionError):
        pass
    return 0, 0, None
