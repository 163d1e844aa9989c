"""List the requirement ids of the catalogue (REQUIREMENTS.md) that no test names.

Tests name ids with ``@pytest.mark.req("P-01", ...)``. The script prints every id no test
names, and fails (exit 1) only for ids listed in tests/requirements_expected.txt (the ids
that resolved issues were meant to cover) or for a test naming an id that does not exist.

The ids live in the repository, in tests/requirement-ids.txt, so a clone with no
``../shared`` beside it checks the same. Where the catalogue is there (``../shared`` or
``$RULEBRIDGE_SHARED``), the copy is checked against it and a difference fails, naming the
ids; ``--write`` brings the copy up to date.

Usage: python scripts/req_coverage.py [--requirements PATH] [--write]
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ID = re.compile(r"^\|\s*([A-Z]{1,2}-\d{2})\s*\|")
COPY = ROOT / "tests" / "requirement-ids.txt"


def requirement_ids(path: Path) -> list[str]:
    """The ids in the first column of the catalogue's tables, in order."""
    ids = [
        match.group(1) for line in path.read_text("utf-8").splitlines() if (match := ID.match(line))
    ]
    return list(dict.fromkeys(ids))


def named_ids(tests: Path) -> dict[str, list[str]]:
    """Each id named by a ``mark.req(...)`` call in the tests, with the files naming it."""
    named: dict[str, list[str]] = {}
    for file in sorted(tests.rglob("*.py")):
        tree = ast.parse(file.read_text("utf-8"), filename=str(file))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _is_req(node.func):
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        named.setdefault(arg.value, []).append(str(file.relative_to(ROOT)))
    return named


def _is_req(func: ast.expr) -> bool:
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "req"
        and isinstance(func.value, ast.Attribute)
        and func.value.attr == "mark"
    )


def expected_ids(path: Path) -> list[str]:
    """The ids that must be covered: one per line, '#' starts a comment."""
    if not path.exists():
        return []
    lines = (line.split("#", 1)[0].strip() for line in path.read_text("utf-8").splitlines())
    return [line for line in lines if line]


def main() -> int:
    default = Path(os.environ.get("RULEBRIDGE_SHARED", ROOT.parent / "shared")) / "REQUIREMENTS.md"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", type=Path, default=default)
    parser.add_argument("--write", action="store_true", help="update the repository's copy")
    args = parser.parse_args()
    if args.write:
        write_copy(requirement_ids(args.requirements), COPY)
        print(f"req_coverage: wrote {COPY.relative_to(ROOT)}")
        return 0
    known = expected_ids(COPY)
    if args.requirements.exists():
        stale = compare(requirement_ids(args.requirements), known)
        if stale:
            print(f"req_coverage: ERROR: {COPY.relative_to(ROOT)} {stale}", file=sys.stderr)
            return 1
    else:
        print(f"req_coverage: {args.requirements} not found; using {COPY.relative_to(ROOT)}")
    named = named_ids(ROOT / "tests")
    expected = expected_ids(ROOT / "tests" / "requirements_expected.txt")
    return report(known, named, expected)


def compare(catalogue: list[str], copy: list[str]) -> str:
    """What differs between the catalogue's ids and the repository's copy ('' when equal)."""
    missing = [rid for rid in catalogue if rid not in copy]
    extra = [rid for rid in copy if rid not in catalogue]
    if not missing and not extra:
        return ""
    parts = [
        f"lacks {' '.join(missing)}" if missing else "",
        f"has {' '.join(extra)}, which the catalogue does not" if extra else "",
    ]
    detail = " and ".join(part for part in parts if part)
    return f"{detail}; run scripts/req_coverage.py --write"


def write_copy(ids: list[str], path: Path) -> None:
    """Write `ids` as the repository's copy, one a line under a comment saying whence."""
    head = "# Requirement ids of REQUIREMENTS.md (../shared); scripts/req_coverage.py --write\n"
    path.write_text(head + "".join(f"{rid}\n" for rid in ids), "utf-8")


def report(known: list[str], named: dict[str, list[str]], expected: list[str]) -> int:
    """Print the coverage and return the exit status."""
    uncovered = [rid for rid in known if rid not in named]
    unknown = sorted(rid for rid in named if rid not in known)
    owed = [rid for rid in expected if rid not in named]
    print(
        f"requirements: {len(known)} ids, {len(known) - len(uncovered)} named by tests, "
        f"{len(uncovered)} not yet"
    )
    if uncovered:
        print("  not named by any test: " + " ".join(uncovered))
    for rid in unknown:
        print(f"  ERROR: {rid} (in {', '.join(sorted(set(named[rid])))}) is not in REQUIREMENTS.md")
    for rid in owed:
        print(
            f"  ERROR: {rid} should be covered (tests/requirements_expected.txt) "
            "but no test names it"
        )
    return 1 if unknown or owed else 0


if __name__ == "__main__":
    sys.exit(main())
