"""Check a loaded document against a JSON Schema and locate every error in the YAML file.

jsonschema's own messages repeat whole instances and name schema keywords; the ones here
say, at the key or value the author wrote, what is wrong and how to fix it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from engine.documents.document import Document, JsonPath
from engine.documents.suggest import closest, did_you_mean
from engine.errors import RulesetError

__all__ = ["check_schema", "load_schema", "schema_text"]

_KIND_CODES = {"operator": "unknown-operator", "transform": "unknown-transform"}
_TYPE_NAMES = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing (null)",
    "array": "a list",
    "object": "a mapping",
}


def schema_text(name: str) -> str:
    """The text of a schema shipped in ``engine/schema/`` (e.g. ``ruleset``)."""
    return resources.files("engine").joinpath("schema", f"{name}.schema.json").read_text("utf-8")


@cache
def load_schema(name: str) -> Mapping[str, Any]:
    """A shipped schema, parsed (cached: schemas never change while running)."""
    schema: Mapping[str, Any] = json.loads(schema_text(name))
    return schema


@cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(load_schema(name))


def check_schema(document: Document, name: str) -> tuple[list[RulesetError], set[JsonPath]]:
    """Every place where `document` breaks schema `name`: located errors, and the paths
    that failed (so that later checks can skip them). Values reading already reported
    (`Document.damaged`) are not reported again."""
    errors: list[RulesetError] = []
    broken: set[JsonPath] = set(document.damaged)
    found = list(_validator(name).iter_errors(document.data))
    misspelt = _misspelt_keys(found)
    for error in found:
        path = tuple(error.absolute_path)
        broken.add(path)
        if not any(path[: len(bad)] == bad for bad in document.damaged):
            errors.extend(
                problem
                for problem in _translate(document, error)
                if (path, problem.code, problem.message) not in misspelt
            )
    return errors, broken


def _misspelt_keys(found: list[ValidationError]) -> set[tuple[JsonPath, str, str]]:
    """The "missing key" errors that an unknown key beside them explains (``typx:`` for
    ``type:``: its "did you mean 'type'" says it all), as (path, code, message)."""
    unknown: dict[JsonPath, list[str]] = {}
    for error in found:
        if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
            known = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
            extra = [str(key) for key in error.instance if key not in known]
            unknown.setdefault(tuple(error.absolute_path), []).extend(extra)
    explained: set[tuple[JsonPath, str, str]] = set()
    for error in found:
        path = tuple(error.absolute_path)
        if error.validator != "required" or path not in unknown:
            continue
        for key in _listed(error.validator_value):
            if any(closest(word, [key]) == key for word in unknown[path]):
                where = " here" if path else ""
                explained.add((path, "missing-key", f"missing key {key!r}{where}"))
    return explained


def _translate(document: Document, error: ValidationError) -> Iterator[RulesetError]:
    path = tuple(error.absolute_path)
    handler = _HANDLERS.get(str(error.validator), _generic)
    yield from handler(document, error, path)


def _additional(
    document: Document, error: ValidationError, path: tuple[str | int, ...]
) -> Iterator[RulesetError]:
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    known = list(schema.get("properties", {}))
    code = _KIND_CODES.get(str(schema.get("x-kind")), "unknown-key")
    noun = {"unknown-operator": "operator", "unknown-transform": "transform"}.get(code, "key")
    instance = error.instance if isinstance(error.instance, Mapping) else {}
    for key in instance:
        if key not in known:
            hint = did_you_mean(key, known) or f"; expected one of: {', '.join(known)}"
            yield document.error((*path, key), code, f"unknown {noun} {key!r}{hint}", at_key=True)


def _property_names(
    document: Document, error: ValidationError, path: tuple[str | int, ...]
) -> Iterator[RulesetError]:
    name = error.instance
    hint = error.schema.get("x-hint", "") if isinstance(error.schema, Mapping) else ""
    message = f"{name!r} is not a valid name" + (f": use {hint}" if hint else "")
    yield document.error((*path, str(name)), "invalid-name", message, at_key=True)


def _required(
    document: Document, error: ValidationError, path: tuple[str | int, ...]
) -> Iterator[RulesetError]:
    instance = error.instance if isinstance(error.instance, Mapping) else {}
    for key in _listed(error.validator_value):
        if key not in instance:
            where = " here" if path else ""
            yield document.error(path, "missing-key", f"missing key {key!r}{where}", at_key=True)


def _type(
    document: Document, error: ValidationError, path: tuple[str | int, ...]
) -> Iterator[RulesetError]:
    expected = error.validator_value
    names = [expected] if isinstance(expected, str) else _listed(expected)
    wanted = " or ".join(_TYPE_NAMES.get(name, name) for name in names)
    got = _describe_value(error.instance)
    hint = "; write it in quotes" if isinstance(error.instance, bool) and "string" in names else ""
    yield document.error(path, "wrong-type", f"expected {wanted}, got {got}{hint}")


def _enum(
    document: Document, error: ValidationError, path: tuple[str | int, ...]
) -> Iterator[RulesetError]:
    options = [str(option) for option in _listed(error.validator_value)]
    value = error.instance
    hint = did_you_mean(str(value), options) if isinstance(value, str) else ""
    message = f"{value!r} is not one of {', '.join(options)}{hint}"
    yield document.error(path, "invalid-value", message)


def _pattern(
    document: Document, error: ValidationError, path: tuple[str | int, ...]
) -> Iterator[RulesetError]:
    hint = error.schema.get("x-hint", "") if isinstance(error.schema, Mapping) else ""
    message = f"{error.instance!r} is not well formed" + (f": use {hint}" if hint else "")
    yield document.error(path, "invalid-value", message)


def _any_of(
    document: Document, error: ValidationError, path: tuple[str | int, ...]
) -> Iterator[RulesetError]:
    choices = [_describe_schema(branch) for branch in _listed(error.validator_value)]
    message = f"expected {' or '.join(choices)}, got {_describe_value(error.instance)}"
    yield document.error(path, "wrong-type", message)


def _one_of(
    document: Document, error: ValidationError, path: tuple[str | int, ...]
) -> Iterator[RulesetError]:
    """A value that fits none of the forms: the schema's hint names them, when it has one."""
    hint = error.schema.get("x-hint", "") if isinstance(error.schema, Mapping) else ""
    if not hint:
        yield from _any_of(document, error, path)
        return
    message = f"expected {hint}, got {_describe_value(error.instance)}"
    yield document.error(path, "wrong-type", message)


def _generic(
    document: Document, error: ValidationError, path: tuple[str | int, ...]
) -> Iterator[RulesetError]:
    messages = {
        "minItems": "the list is empty; give at least one item",
        "minProperties": "the mapping is empty; give at least one key",
        "minLength": "the text is empty",
        "maxLength": f"the text is longer than {error.validator_value} characters",
        "minimum": f"must be at least {error.validator_value}",
    }
    message = messages.get(str(error.validator), re.sub(r"\s+", " ", error.message)[:200])
    yield document.error(path, "invalid-value", message)


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _describe_schema(schema: Any) -> str:
    if not isinstance(schema, Mapping):
        return "a value"
    if "$ref" in schema:
        return {
            "#/$defs/setting_ref": "{setting: NAME}",
            "#/$defs/scalar": "text, a number, true/false or null",
        }.get(schema["$ref"], "a value")
    kinds = schema.get("type", [])
    kinds = [kinds] if isinstance(kinds, str) else kinds
    return " or ".join(_TYPE_NAMES.get(kind, kind) for kind in kinds) or "a value"


def _describe_value(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return "nothing (null)"


_HANDLERS = {
    "additionalProperties": _additional,
    "propertyNames": _property_names,
    "required": _required,
    "type": _type,
    "enum": _enum,
    "pattern": _pattern,
    "anyOf": _any_of,
    "oneOf": _one_of,
}
