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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.documents.document import Document, load_document
from engine.documents.schema import check_schema
from engine.errors import RulesetError, RulesetErrors
from engine.language.compiler import compile_document
from engine.language.ruleset import CompiledRuleset

__all__ = ["CheckResult", "check_paths", "load_ruleset"]

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
    meant = data.get("settings_for")
    if isinstance(meant, str) and isinstance(name, str) and meant != name:
        errors.append(
            document.error(
                ("settings_for",),
                "wrong-ruleset",
                f"these settings are for {meant!r}, not for ruleset {name!r}",
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


def check_paths(paths: Iterable[str | os.PathLike[str]]) -> list[CheckResult]:
    """Check every ruleset and agency settings file under `paths`.

    A settings file (one with ``settings_for:``) is checked against the ruleset of that
    name among the files checked, else among the rulesets in its own folder.
    """
    files = ruleset_files(paths)
    documents: dict[Path, Document] = {}
    results: dict[Path, CheckResult] = {}
    for file in files:
        try:
            documents[file] = load_document(file, partial=True)
        except RulesetErrors as exc:
            results[file] = CheckResult(str(file), "unknown", errors=tuple(exc.errors))
    for file, document in documents.items():
        if not _is_settings(document):
            results[file] = _check_ruleset(document)
    for file, document in documents.items():
        if _is_settings(document):
            results[file] = _check_settings(file, document, documents)
    return [results[file] for file in files]


def _is_settings(document: Document) -> bool:
    return isinstance(document.data, Mapping) and "settings_for" in document.data


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
    ruleset = _find_ruleset(name, file, documents)
    errors: list[RulesetError] = list(document.problems)
    if ruleset is None:
        errors.extend(check_schema(document, "settings")[0])
        errors.append(
            document.error(
                ("settings_for",),
                "unknown-ruleset",
                f"no ruleset named {name!r} was checked or sits in {file.parent}; name it too",
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


def _find_ruleset(name: Any, file: Path, documents: Mapping[Path, Document]) -> Document | None:
    candidates = [doc for doc in documents.values() if not _is_settings(doc)]
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
    named.sort(
        key=lambda doc: (
            doc.data.get("version", 0) if isinstance(doc.data.get("version"), int) else 0
        )
    )
    return named[-1] if named else None
