"""Per-agency settings: declared in a ruleset, overridden by an agency settings file.

A ruleset declares each setting with a type, the values allowed and a default. A settings
file names the ruleset it is for and sets some of them::

    settings_for: alto-fixflo
    agency: Example Lettings
    settings:
      property_categories: [Residential, Commercial]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from engine.documents.document import Document, JsonPath
from engine.documents.suggest import did_you_mean
from engine.errors import RulesetError

__all__ = ["SettingDecl", "check_setting_value", "declare_settings", "resolve_settings"]


@dataclass(frozen=True, slots=True)
class SettingDecl:
    """A declared setting: its type, the values allowed, its default and summary."""

    name: str
    type: str
    items: str
    allowed: tuple[Any, ...] | None
    default: Any
    summary: str


def _is_type(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "date":
        return isinstance(value, str) and _is_iso_date(value)
    return False


def _is_iso_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def check_setting_value(decl: SettingDecl, value: Any) -> str | None:
    """Why `value` is not valid for `decl`, or None when it is.

    Example:
        >>> decl = SettingDecl("cats", "list", "string", ("Residential",), [], "")
        >>> check_setting_value(decl, ["Residental"])
        "'Residental' is not allowed; allowed: Residential (did you mean 'Residential'?)"
    """
    items = value if decl.type == "list" else [value]
    if decl.type == "list" and not isinstance(value, list):
        return f"expected a list of {decl.items} values, got {value!r}"
    kind = decl.items if decl.type == "list" else decl.type
    for item in items:
        if not _is_type(item, kind):
            return (
                f"expected {'each item to be ' if decl.type == 'list' else ''}{kind}, got {item!r}"
            )
        if decl.allowed is not None and item not in decl.allowed:
            options = [_shown(option) for option in decl.allowed]
            return (
                f"{item!r} is not allowed; allowed: {', '.join(options)}"
                f"{did_you_mean(str(item), options)}"
            )
    return None


def _shown(value: Any) -> str:
    """A value for a message: plain text when short and on one line, else quoted and cut."""
    text = str(value)
    if isinstance(value, str) and "\n" not in text and len(text) <= 40:
        return text
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def declare_settings(
    document: Document, errors: list[RulesetError], broken: Callable[[JsonPath], bool]
) -> dict[str, SettingDecl]:
    """The settings a ruleset declares, with errors for bad defaults or allowed values.

    Declarations that already failed the schema (`broken`) are skipped.
    """
    declared = document.data.get("settings") if isinstance(document.data, Mapping) else None
    if not isinstance(declared, Mapping):
        return {}
    decls: dict[str, SettingDecl] = {}
    for name, spec in declared.items():
        if broken(("settings", name)):
            continue
        decl = _declare(document, name, spec, errors)
        if decl is not None:
            decls[name] = decl
    return decls


_TYPES = {"string", "integer", "number", "boolean", "date", "list"}


def _declare(
    document: Document, name: str, spec: Any, errors: list[RulesetError]
) -> SettingDecl | None:
    if not isinstance(spec, Mapping) or spec.get("type") not in _TYPES or "default" not in spec:
        return None  # the schema has reported it
    if spec.get("items", "string") not in _TYPES - {"list"}:
        return None
    allowed = spec.get("allowed")
    decl = SettingDecl(
        name,
        spec["type"],
        str(spec.get("items", "string")),
        tuple(allowed) if isinstance(allowed, list) else None,
        spec["default"],
        str(spec.get("summary", "")),
    )
    path: JsonPath = ("settings", name)
    kind = decl.items if decl.type == "list" else decl.type
    for index, option in enumerate(decl.allowed or ()):
        if not _is_type(option, kind):
            errors.append(
                document.error(
                    (*path, "allowed", index),
                    "bad-setting",
                    f"allowed value {option!r} is not {kind}",
                )
            )
            return None
    problem = check_setting_value(decl, decl.default)
    if problem is not None:
        errors.append(
            document.error(
                (*path, "default"),
                "bad-default",
                f"the default of setting {name!r} is invalid: {problem}",
            )
        )
    return decl  # declared even with a bad default: its uses are checked, not echoed


def resolve_settings(
    decls: Mapping[str, SettingDecl],
    overrides: Mapping[str, Any],
    ruleset_name: str,
    settings_document: Document | None,
    errors: list[RulesetError],
) -> dict[str, Any]:
    """The effective value of every setting: the override if valid, else the default.

    Errors are located in `settings_document` when the overrides came from a file.
    """
    effective = {name: decl.default for name, decl in decls.items()}
    for name, value in overrides.items():
        problem = _override_problem(decls, name, value)
        if problem is None:
            effective[name] = value
        else:
            errors.append(_override_error(settings_document, ruleset_name, name, *problem))
    return effective


def _override_problem(
    decls: Mapping[str, SettingDecl], name: str, value: Any
) -> tuple[str, str] | None:
    decl = decls.get(name)
    if decl is None:
        hint = did_you_mean(name, decls) or f"; declared: {', '.join(decls) or 'none'}"
        return "unknown-setting", f"the ruleset declares no setting {name!r}{hint}"
    problem = check_setting_value(decl, value)
    return None if problem is None else ("bad-setting", f"setting {name!r}: {problem}")


def _override_error(
    document: Document | None, ruleset_name: str, name: str, code: str, message: str
) -> RulesetError:
    if document is None:
        return RulesetError(f"<settings for {ruleset_name}>", 1, 1, code, message)
    return document.error(("settings", name), code, message, at_key=code == "unknown-setting")
