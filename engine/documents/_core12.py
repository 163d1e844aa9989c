"""The YAML 1.2 core schema (YAML 1.2.2, section 10.3.2) for PyYAML, which reads YAML 1.1.

PyYAML resolves plain scalars by YAML 1.1: ``yes``, ``no``, ``on``, ``off`` (and ``NO``, the
country code) are booleans, ``017`` is octal, ``1:30`` sexagesimal. `core_12` gives a loader
class that resolves them as YAML 1.2's core schema does instead; `core_value` constructs the
value of a scalar so tagged; `dump_yaml` writes text that reads back the same under both.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

__all__ = ["CORE_SCHEMA", "core_12", "core_value", "dump_yaml"]

_CORE = "tag:yaml.org,2002:"
_NULL, _BOOL, _INT, _FLOAT = (f"{_CORE}{name}" for name in ("null", "bool", "int", "float"))
_DIGITS = "0123456789"
CORE_SCHEMA: tuple[tuple[str, re.Pattern[str], str], ...] = (
    (_NULL, re.compile(r"^(?:~|null|Null|NULL|)$"), "~nN"),
    (_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF"),
    (_INT, re.compile(r"^[-+]?[0-9]+$"), "-+" + _DIGITS),
    (_INT, re.compile(r"^0o[0-7]+$"), "0"),
    (_INT, re.compile(r"^0x[0-9a-fA-F]+$"), "0"),
    (
        _FLOAT,
        re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$"),
        "-+." + _DIGITS,
    ),
    (_FLOAT, re.compile(r"^[-+]?\.(?:inf|Inf|INF)$"), "-+."),
    (_FLOAT, re.compile(r"^\.(?:nan|NaN|NAN)$"), "."),
)
"""The YAML 1.2 core schema's plain scalars (YAML 1.2.2, section 10.3.2): tag, form, and the
characters such a scalar may start with. Any other plain scalar is text."""


def core_12(loader: type[Any]) -> type[Any]:
    """`loader` resolving plain scalars by the YAML 1.2 core schema instead of YAML 1.1's.

    PyYAML's resolver is the same Python class under libyaml and the pure loader, so both
    resolve alike. ``<<`` keeps its merge tag, only so that a merge key is refused by name.
    """
    resolvers: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {}
    for tag, form, first in CORE_SCHEMA:
        for char in first or "":
            resolvers.setdefault(char, []).append((tag, form))
        if form.match(""):
            resolvers.setdefault("", []).append((tag, form))
    resolvers.setdefault("<", []).append((f"{_CORE}merge", re.compile(r"^<<$")))
    return type(f"Core12{loader.__name__}", (loader,), {"yaml_implicit_resolvers": resolvers})


class _QuotingDumper(yaml.SafeDumper):
    """PyYAML's safe dumper, quoting text that YAML 1.1 *or* the 1.2 core schema would read
    as something else (``yes``, and ``0o17``, ``1e3``, which YAML 1.1 leaves as text)."""


_QuotingDumper.yaml_implicit_resolvers = {
    char: [*found, *core_12(yaml.SafeLoader).yaml_implicit_resolvers.get(char, [])]
    for char, found in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
} | {
    char: list(found)
    for char, found in core_12(yaml.SafeLoader).yaml_implicit_resolvers.items()
    if char not in yaml.resolver.Resolver.yaml_implicit_resolvers
}


def dump_yaml(data: Any, **options: Any) -> str:
    """`data` as YAML text that `load_document` reads back as `data` (and YAML 1.1 readers
    too): ``yaml.safe_dump`` would write the text ``1e3`` plain, which YAML 1.2 reads as a
    number. `options` are ``yaml.dump``'s (``sort_keys``, ``width``, ...).

    Example:
        >>> print(dump_yaml({"ref": "1e3", "on": "yes", "n": 3}, sort_keys=False), end="")
        ref: '1e3'
        'on': 'yes'
        n: 3
    """
    text: str = yaml.dump(data, Dumper=_QuotingDumper, **options)
    return text


def core_value(tag: str, text: str) -> Any:
    """The value of a scalar tagged `tag` (``!!null``, ``!!bool``, ``!!int``, ``!!float``)
    by the YAML 1.2 core schema; a ValueError when `text` is not of that form.

    Example:
        >>> core_value("tag:yaml.org,2002:int", "0x1F")
        31
        >>> core_value("tag:yaml.org,2002:float", "-.inf")
        -inf
    """
    kind = {_NULL: "null", _BOOL: "bool", _INT: "int", _FLOAT: "float"}[tag]
    forms = [form for name, form, _ in CORE_SCHEMA if name == tag]
    if kind == "float":
        forms += [form for name, form, _ in CORE_SCHEMA if name == _INT][:1]
    if not any(form.match(text) for form in forms):
        raise ValueError(f"{text!r} is not a YAML 1.2 {kind}")
    if kind == "null":
        return None
    if kind == "bool":
        return text[0] in "tT"
    if kind == "int":
        base = {"0o": 8, "0x": 16}.get(text[:2], 10)
        return int(text[2:] if base != 10 else text, base)
    if text.lstrip("+-").lower() in {".inf", ".nan"}:
        return float(text.lower().replace(".", ""))
    return float(text)
