"""The ``dedupe`` entity policy and the ``role`` key: grouping, and located errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine import RulesetErrors, load_ruleset
from engine.language.dedupe import group_duplicates
from tests.engine.rulesets import ruleset_data, write

DEDUPE = {
    "id": "D-1",
    "summary": "same name, or same phone digits",
    "by": [[{"lower": "name"}], [{"digits": "phones[0].number"}, "kind"]],
}


def things(*rows: tuple[str, str | None, str | None, str]) -> list[dict[str, Any]]:
    return [
        {"id": key, "name": name, "phones": [{"number": phone}], "kind": kind}
        for key, name, phone, kind in rows
    ]


def compiled(tmp_path: Path, dedupe: Any = DEDUPE, **thing: Any) -> Any:
    data = ruleset_data()
    data["entities"]["thing"].update({"dedupe": dedupe, **thing})
    return load_ruleset(write(tmp_path, data))


def test_records_matching_on_any_key_group_under_the_first(tmp_path: Path) -> None:
    ruleset = compiled(tmp_path)
    rows = things(
        ("1", "Ann", "0113 1", "a"),
        ("2", "ANN", None, "b"),
        ("3", "Bob", "01131", "a"),
        ("4", "Cy", "01131", "b"),
        ("5", None, None, "a"),
    )
    policy = ruleset.entity("thing").dedupe
    merged = group_duplicates(policy, [(row["id"], row) for row in rows], ruleset.context())
    assert merged == {"2": "1", "3": "1"}  # 4 has the phone but not the kind; 5 has no key


def test_matching_is_transitive_and_keeps_the_earliest(tmp_path: Path) -> None:
    ruleset = compiled(tmp_path)
    rows = things(("1", "Ann", "1", "a"), ("2", "Bob", "2", "a"), ("3", "bob", "1", "a"))
    policy = ruleset.entity("thing").dedupe
    merged = group_duplicates(policy, [(row["id"], row) for row in rows], ruleset.context())
    assert merged == {"2": "1", "3": "1"}


def test_role_defaults_to_record(tmp_path: Path) -> None:
    ruleset = compiled(tmp_path, role="manual")
    assert ruleset.entity("thing").role == "manual"
    assert ruleset.entity("part").role == "record"
    assert ruleset.entity("part").dedupe is None


@pytest.mark.parametrize(
    ("dedupe", "extra", "expected"),
    [
        ({"id": "D-1", "by": [[{"lower": "nmae"}]]}, {}, "did you mean 'name'"),
        ({"id": "D-1", "by": ["name"]}, {}, "wrong-type"),
        ({"id": "D-1"}, {}, "missing key 'by'"),
        ({"id": "D-1", "by": [["name"]], "bye": 1}, {}, "did you mean 'by'"),
        (
            {"id": "R1", "by": [["name"]]},
            {"include": [{"id": "R1", "when": {"field": "id", "present": True}}]},
            "duplicate-rule-id",
        ),
        (DEDUPE, {"role": "manul"}, "manual"),
    ],
)
def test_misuse_is_a_located_error(tmp_path: Path, dedupe: Any, extra: Any, expected: str) -> None:
    with pytest.raises(RulesetErrors) as caught:
        compiled(tmp_path, dedupe, **extra)
    messages = [f"{error.code}: {error.message}" for error in caught.value.errors]
    assert any(expected in message for message in messages), messages
    assert all(error.line > 1 for error in caught.value.errors)
