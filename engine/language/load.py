"""Load rulesets and agency settings files, and check whole folders of them.

Example:
    >>> from engine import load_ruleset
    >>> ruleset = load_ruleset(
    ...     "rulesets/alto-fixflo/v2.yaml", settings="rulesets/alto-fixflo/agency.example.yaml"
    ... )
    >>> ruleset.name, ruleset.version
    ('alto-fixflo', 2)
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.documents.document import Document, load_document
from engine.documents.schema import check_schema
from engine.errors import RulesetError, RulesetErrors
from engine.language.compiler import compile_document
from engine.language.ruleset import CompiledRuleset

__all__ = ["OTHER_KINDS", "CheckResult", "check_paths", "load_ruleset", "settings_target"]

OTHER_KINDS = ("tests_for", "scenario")
"""Top-level keys of YAML files that are neither rulesets nor settings: ruleset test files
and scenarios. `check_paths` leaves them out (``rulebridge validate`` checks them with the
simulator's loaders, which the engine does not import)."""

SettingsArg = Mapping[str, Any] | str | os.PathLike[str] | None


def load_ruleset(path: str | os.PathLike[str], settings: SettingsArg = None) -> CompiledRuleset:
    """Load, validate and compile the ruleset at `path`.

    Args:
        path: the ruleset's YAML file.
        settings: an agency settings file, or a mapping of setting overrides, or None for
            the declared defaults.

    Raises:
        RulesetErrors: every problem in the ruleset and settings, located and sorted.
    """
    document = load_document(path, partial=True)
    errors: list[RulesetError] = list(document.problems)
    overrides, settings_document = _overrides(settings, document, errors)
    compiled = _compile(document, overrides, settings_document, errors)
    if errors or compiled is None:
        raise RulesetErrors(errors)
    return compiled


def _compile(
    document: Document,
    overrides: Mapping[str, Any],
    settings_document: Document | None,
    errors: list[RulesetError],
) -> CompiledRuleset | None:
    problems, broken = check_schema(document, "ruleset")
    errors.extend(problems)
    return compile_document(document, overrides, settings_document, broken, errors)


def _overrides(
    settings: SettingsArg, ruleset: Document, errors: list[RulesetError]
) -> tuple[Mapping[str, Any], Document | None]:
    if settings is None:
        return {}, None
    if isinstance(settings, Mapping):
        return settings, None
    try:
        document = load_document(settings, partial=True)
    except RulesetErrors as exc:
        errors.extend(exc.errors)
        return {}, None
    errors.extend(document.problems)
    return _settings_values(document, ruleset, errors), document


def _settings_values(
    document: Document, ruleset: Document, errors: list[RulesetError]
) -> Mapping[str, Any]:
    problems, _ = check_schema(document, "settings")
    errors.extend(problems)
    data = document.data if isinstance(document.data, Mapping) else {}
    name = ruleset.data.get("ruleset") if isinstance(ruleset.data, Mapping) else None
    version = ruleset.data.get("version") if isinstance(ruleset.data, Mapping) else None
    meant, meant_version = settings_target(data.get("settings_for"))
    wrong_version = meant_version is not None and meant_version != version
    if isinstance(meant, str) and isinstance(name, str) and (meant != name or wrong_version):
        errors.append(
            document.error(
                ("settings_for",),
                "wrong-ruleset",
                f"these settings are for {data['settings_for']!r}, not for ruleset "
                f"{name!r} v{version}",
            )
        )
        return {}
    values = data.get("settings")
    return values if isinstance(values, Mapping) and not problems else {}


@dataclass(frozen=True)
class CheckResult:
    """The outcome of checking one file: a compiled ruleset, a settings file, or errors."""

    path: str
    kind: str
    ruleset: CompiledRuleset | None = None
    settings_for: str | None = None
    overrides: int = 0
    errors: tuple[RulesetError, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when the file has no errors."""
        return not self.errors


def ruleset_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The YAML files named, with folders searched recursively, in a stable order."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())
            )
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def check_paths(
    paths: Iterable[str | os.PathLike[str]], read: Mapping[Path, Document] | None = None
) -> list[CheckResult]:
    """Check every ruleset and agency settings file under `paths`.

    A settings file (one with ``settings_for:``) is checked against the ruleset it names
    (``alto-fixflo/v2``: that version; ``alto-fixflo``: the newest) among the files checked,
    else among the rulesets in its own folder. Ruleset test files and scenarios (a top-level
    ``tests_for:`` or ``scenario:``) are left out: they have no result. `read` holds files
    the caller already read with ``load_document(file, partial=True)``, by path: they are
    not read again.
    """
    files = ruleset_files(paths)
    documents: dict[Path, Document] = {}
    results: dict[Path, CheckResult] = {}
    for file in files:
        if read is not None and file in read:
            documents[file] = read[file]
            continue
        try:
            documents[file] = load_document(file, partial=True)
        except RulesetErrors as exc:
            results[file] = CheckResult(str(file), "unknown", errors=tuple(exc.errors))
    for file, document in documents.items():
        if _is_ruleset(document):
            results[file] = _check_ruleset(document)
    for file, document in documents.items():
        if _is_settings(document):
            results[file] = _check_settings(file, document, documents)
    return [results[file] for file in files if file in results]


def _is_settings(document: Document) -> bool:
    return isinstance(document.data, Mapping) and "settings_for" in document.data


def _is_ruleset(document: Document) -> bool:
    """Neither a settings file nor a file of another kind (`OTHER_KINDS`)."""
    data = document.data
    return not _is_settings(document) and not (
        isinstance(data, Mapping) and any(key in data for key in OTHER_KINDS)
    )


def _check_ruleset(document: Document) -> CheckResult:
    errors: list[RulesetError] = list(document.problems)
    compiled = _compile(document, {}, None, errors)
    if errors or compiled is None:
        return CheckResult(document.path, "ruleset", errors=tuple(errors))
    return CheckResult(document.path, "ruleset", ruleset=compiled)


def _check_settings(
    file: Path, document: Document, documents: Mapping[Path, Document]
) -> CheckResult:
    name = document.data.get("settings_for")
    ruleset, versions = _find_ruleset(name, file, documents)
    errors: list[RulesetError] = list(document.problems)
    if ruleset is None:
        errors.extend(check_schema(document, "settings")[0])
        wanted, _ = settings_target(name)
        listed = ", ".join(f"{wanted}/v{version}" for version in versions)
        errors.append(
            document.error(
                ("settings_for",),
                "unknown-ruleset",
                f"no ruleset {name!r} was checked or sits in {file.parent}; found: {listed}"
                if versions
                else f"no ruleset named {name!r} was checked or sits in {file.parent}; name it too",
            )
        )
        return CheckResult(document.path, "settings", errors=tuple(errors))
    overrides = _settings_values(document, ruleset, errors)
    found: list[RulesetError] = []
    _compile(ruleset, overrides, document, found)
    errors.extend(error for error in found if error.path == document.path)
    return CheckResult(
        document.path,
        "settings",
        settings_for=str(name),
        overrides=len(overrides),
        errors=tuple(errors),
    )


def settings_target(settings_for: Any) -> tuple[Any, int | None]:
    """The ruleset name and version a ``settings_for:`` names (None: the newest found).

    Example:
        >>> settings_target("alto-fixflo/v2"), settings_target("alto-fixflo")
        (('alto-fixflo', 2), ('alto-fixflo', None))
    """
    if not isinstance(settings_for, str):
        return settings_for, None
    match = re.fullmatch(r"(.+)/v([0-9]+)", settings_for)
    return (match.group(1), int(match.group(2))) if match else (settings_for, None)


def _find_ruleset(
    settings_for: Any, file: Path, documents: Mapping[Path, Document]
) -> tuple[Document | None, list[int]]:
    """The ruleset a settings file is for (the version it names, else the newest), and
    the versions of that name found (to list when the one named is not among them)."""
    name, version = settings_target(settings_for)
    candidates = [doc for doc in documents.values() if _is_ruleset(doc)]
    for folder in sorted({p.parent for p in file.parent.glob("*.y*ml")}):
        for path in sorted(folder.glob("*.y*ml")):
            if path not in documents:
                try:
                    candidates.append(load_document(path, partial=True))
                except RulesetErrors:
                    continue
    named = [
        doc
        for doc in candidates
        if isinstance(doc.data, Mapping) and doc.data.get("ruleset") == name
    ]
    named.sort(key=_version)
    versions = sorted({_version(doc) for doc in named})
    if version is not None:
        named = [doc for doc in named if _version(doc) == version]
    return (named[-1] if named else None), versions


def _version(document: Document) -> int:
    version = document.data.get("version", 0)
    return version if isinstance(version, int) and not isinstance(version, bool) else 0
