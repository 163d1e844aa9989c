"""Find and load ruleset test files: every problem located at once, never a traceback.

A test file is YAML with a top-level ``tests_for:`` naming the ruleset version it tests
(relative to the file). Loading reads it with positions (`engine.documents`), checks it
against ``engine/schema/tests.schema.json``, loads the ruleset, then checks every case
against it (`simulator.testing._checks`): unknown entities, sources, targets, rule ids,
settings and record fields, each with a "did you mean".

Example:
    >>> test_file = load_tests("rulesets/alto-fixflo/tests/properties.yaml")  # doctest: +SKIP
    >>> test_file.cases[0].kind  # doctest: +SKIP
    'decision'
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from engine.documents import Document, check_schema, did_you_mean, load_document
from engine.errors import RulesetError, RulesetErrors
from simulator.testing._checks import CaseChecker, check_settings
from simulator.testing._rulesets import Rulesets, rulesets_for
from simulator.testing.cases import TestFile

__all__ = ["find_test_files", "is_test_file", "load_tests"]


def is_test_file(path: str | os.PathLike[str]) -> bool:
    """Whether `path` is a YAML file whose top level has ``tests_for:`` (read cheaply: the
    key must start a line)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return any(line.startswith("tests_for:") for line in handle)
    except OSError:
        return False


def find_test_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The test files named, with folders searched recursively for YAML test files, in a
    stable order. A file named directly is taken whatever it holds (loading says what is
    wrong with it)."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            candidates = sorted(p for p in path.rglob("*.y*ml") if p.suffix in {".yaml", ".yml"})
            found.extend(p for p in candidates if p.is_file() and is_test_file(p))
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def load_tests(
    path: str | os.PathLike[str],
    *,
    ruleset: str | os.PathLike[str] | None = None,
    rulesets: Rulesets | None = None,
) -> TestFile:
    """Load and check one test file against the ruleset it is for.

    Args:
        path: the test file.
        ruleset: run against this ruleset file instead of the one ``tests_for:`` names
            (another version or an edited copy): ids it no longer has are then not
            errors of the file, and the cases that expect them fail instead.
        rulesets: an already loaded ruleset (with its compiled variants) to use instead.

    Raises:
        RulesetErrors: every problem of the file (and of its ruleset), located as
            ``file:line:col: code: message`` and sorted.
    """
    document = load_document(path, partial=True)
    errors: list[RulesetError] = list(document.problems)
    problems, broken = check_schema(document, "tests")
    errors.extend(problems)
    data = document.data if isinstance(document.data, Mapping) else {}
    ruleset_path = _ruleset_path(document, data, ruleset, errors)
    loaded = rulesets or _load(document, ruleset_path, errors)
    if loaded is None or ruleset_path is None:
        raise RulesetErrors(errors)
    defaults = check_settings(document, ("settings",), data.get("settings"), {}, loaded, errors)
    checker = CaseChecker(document, loaded, broken, errors, check_ids=ruleset is None)
    as_of = checker.read_date(("as_of",), data.get("as_of"))
    cases = [
        checker.case(index, item, defaults, as_of)
        for index, item in enumerate(data.get("cases") or [])
        if isinstance(item, Mapping)
    ]
    _unique_names(document, data.get("cases"), errors)
    if errors:
        raise RulesetErrors(errors)
    found = tuple(case for case in cases if case is not None)
    return TestFile(document.path, ruleset_path, str(data.get("summary") or ""), found)


def _ruleset_path(
    document: Document,
    data: Mapping[str, Any],
    override: str | os.PathLike[str] | None,
    errors: list[RulesetError],
) -> Path | None:
    if override is not None:
        return Path(override)
    named = data.get("tests_for")
    if not isinstance(named, str) or not named:
        if "tests_for" not in data:
            errors.append(
                document.error((), "missing-key", "a test file starts with 'tests_for: ../vN.yaml'")
            )
        return None
    found = Path(os.path.normpath(Path(document.path).parent / named))
    if not found.is_file():
        siblings = [p.name for p in found.parent.glob("*.y*ml")] if found.parent.is_dir() else []
        hint = did_you_mean(found.name, siblings)
        errors.append(
            document.error(
                ("tests_for",),
                "unknown-ruleset",
                f"no ruleset file {named!r} next to this file (looked for {found}){hint}",
            )
        )
        return None
    return found


def _load(document: Document, path: Path | None, errors: list[RulesetError]) -> Rulesets | None:
    if path is None:
        return None
    try:
        return rulesets_for(path)
    except OSError as exc:
        message = f"cannot read the ruleset {path}: {exc.strerror}"
        errors.append(document.error(("tests_for",), "unknown-ruleset", message))
        return None
    except RulesetErrors as exc:
        errors.extend(exc.errors)
        errors.append(
            document.error(
                ("tests_for",),
                "broken-ruleset",
                f"the ruleset {path} has {len(exc.errors)} error(s) (listed); fix it first",
            )
        )
        return None


def _unique_names(document: Document, items: Any, errors: list[RulesetError]) -> None:
    seen: dict[str, int] = {}
    for index, item in enumerate(items if isinstance(items, list) else ()):
        name = item.get("name") if isinstance(item, Mapping) else None
        if not isinstance(name, str):
            continue
        line = document.key_where(("cases", index, "name"))[0]
        if name in seen:
            errors.append(
                document.error(
                    ("cases", index, "name"),
                    "duplicate-case",
                    f"another case is named {name!r} (line {seen[name]}); "
                    "give each case its own name",
                )
            )
        seen.setdefault(name, line)
