"""Settings and record fields as a test file gives them, checked against the ruleset."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from engine.documents import Document, JsonPath, did_you_mean
from engine.errors import RulesetError, RulesetErrors
from simulator.testing._rulesets import Rulesets

__all__ = ["check_settings", "path_of", "record_paths"]


def record_paths(record: Any, prefix: str = "") -> Iterator[str]:
    """Every field path of `record`, list steps dropped (``people.emailAddresses.address``).

    Example:
        >>> sorted(record_paths({"id": 1, "address": {"town": "Leeds"}, "tags": ["a"]}))
        ['address.town', 'id', 'tags']
    """
    if isinstance(record, Mapping) and record:
        for key, value in record.items():
            yield from record_paths(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(record, list) and any(isinstance(item, Mapping) for item in record):
        for item in record:
            yield from record_paths(item, prefix)
    elif prefix:
        yield prefix


def check_settings(
    document: Document,
    path: JsonPath,
    raw: Any,
    base: Mapping[str, Any],
    rulesets: Rulesets,
    errors: list[RulesetError],
) -> dict[str, Any]:
    """`raw` over `base`, each setting checked against the ruleset's declaration."""
    merged = dict(base)
    if not isinstance(raw, Mapping):
        return merged
    declared = rulesets.base.settings_declared
    for name, value in raw.items():
        if name not in declared:
            hint = did_you_mean(str(name), declared) or f"; it declares {', '.join(declared)}"
            message = f"ruleset {rulesets.base.name} declares no setting {name!r}{hint}"
            errors.append(document.error((*path, name), "unknown-setting", message, at_key=True))
            continue
        try:
            rulesets.get({**merged, name: value})
        except RulesetErrors as exc:
            problem = exc.errors[0]
            errors.append(document.error((*path, name), problem.code, problem.message))
            continue
        merged[str(name)] = value
    return merged


def path_of(path: JsonPath, record: Any, field_path: str) -> JsonPath:
    """The document path of the first place `field_path` (list steps dropped) is written."""
    here: list[str | int] = list(path)
    current = record
    for part in field_path.split("."):
        while isinstance(current, list):
            index = next(
                (i for i, x in enumerate(current) if isinstance(x, Mapping) and part in x), 0
            )
            if not current:
                break
            here.append(index)
            current = current[index]
        if not isinstance(current, Mapping) or part not in current:
            break
        here.append(part)
        current = current[part]
    return tuple(here)
