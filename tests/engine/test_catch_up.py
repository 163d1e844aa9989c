"""`engine.migration`: the catch-up after go-live (J-16) and the `excluded` hook it uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.jupix.records import export_records
from engine.migration import (
    Baseline,
    CatchUpItem,
    Difference,
    FieldChange,
    catch_up_markdown,
    changed_fields,
    migrate,
    section_of,
)
from engine.migration.catch_up import (
    ADDED,
    CHANGED,
    MANUAL,
    NEW,
    NO_LONGER_WANTED,
    REMOVED,
    UNCHANGED,
)
from tests.rulesets.jupix import AS_OF, ruleset, write_export


def test_excluded_hook_names_the_would_be_id_rule_and_reason(tmp_path: Path) -> None:
    """J-01: an applicant a rule leaves out is reported with the id it would have had."""
    export = write_export(
        tmp_path / "export",
        contacts=[{"contactID": "C1"}, {"contactID": "C2"}],
        applicants=[
            {"applicantID": "A1", "contactID": "C1", "profileExpiryDate": "2025-03-01"},
            {"applicantID": "A2", "contactID": "C2", "profileExpiryDate": "2026-03-01"},
        ],
        properties=[{"propertyID": "P1", "archived": True}],
    )
    compiled = ruleset()
    seen: list[tuple[str, str | None, Difference]] = []

    def excluded(target: str, record_id: str | None, difference: Difference) -> None:
        seen.append((target, record_id, difference))

    result = migrate(
        compiled, export_records(export, compiled.sources), as_of=AS_OF, excluded=excluded
    )
    found = {(target, record_id): item for target, record_id, item in seen}
    applicant = found[("alto.applicants", "A1")]
    assert (applicant.entity, applicant.rule, applicant.record) == ("applicant", "J-01", "A1")
    assert "2025-03-01" in applicant.detail
    # the would-be id is the entity's id map, not the source key: media ids are "media/P1"
    assert found[("alto.media", "media/P1")].rule == "J-07"
    assert ("alto.applicants", "A2") not in found
    # every difference the hook saw is the reconciliation's own, once
    assert sorted(map(_key, (item for *_, item in seen))) == sorted(
        _key(item) for item in result.reconciliation.differences if item.change == "not migrated"
    )
    # listed entities (manual actions) are never reported as excluded
    assert all(not target.startswith("manual.") for target, *_ in seen)


def _key(item: Difference) -> Any:
    return (item.entity, item.rule, item.record)


def test_excluded_hook_reports_a_merged_applicant_under_its_dedupe_rule(tmp_path: Path) -> None:
    """J-02: an applicant merged into another is not written; the hook says so, by rule."""
    export = write_export(
        tmp_path / "export",
        contacts=[{"contactID": "C1"}, {"contactID": "C2"}],
        applicants=[
            {"applicantID": "A1", "contactID": "C1", "email": "same@example.com"},
            {"applicantID": "A2", "contactID": "C2", "email": "SAME@example.com"},
        ],
    )
    compiled = ruleset()
    seen: dict[tuple[str, str | None], Difference] = {}
    migrate(
        compiled,
        export_records(export, compiled.sources),
        as_of=AS_OF,
        excluded=lambda target, record_id, item: seen.__setitem__((target, record_id), item),
    )
    merged = seen[("alto.applicants", "A2")]
    assert (merged.rule, merged.change) == ("J-02", "merged")
    assert ("alto.applicants", "A1") not in seen


KEYS = st.tuples(st.sampled_from(["contacts", "inventory", MANUAL]), st.text("ABC12/", max_size=4))
PRINTS = st.sampled_from(["f1", "f2", "f3"])


@settings(max_examples=200, deadline=None)
@given(
    before=st.dictionaries(KEYS, PRINTS, max_size=30),
    after=st.dictionaries(KEYS, PRINTS, max_size=30),
    dropped=st.sets(KEYS, max_size=10),
)
def test_every_key_lands_in_exactly_one_category(
    before: dict[tuple[str, str], str],
    after: dict[tuple[str, str], str],
    dropped: set[tuple[str, str]],
) -> None:
    """J-16: whatever the two runs hold, each record is added, changed, unchanged, removed
    or no longer wanted, exactly once, as set arithmetic on the two maps says."""
    baseline = Baseline((collection, key, printed) for (collection, key), printed in before.items())
    compared = {key: baseline.compare(*key, printed) for key, printed in after.items()}
    categories: dict[tuple[str, str], list[str]] = {}
    for key, found in compared.items():
        categories.setdefault(key, []).append(found)
    for key in before:
        status = baseline.status(*key)
        assert status is not None
        if status == "gone":
            categories.setdefault(key, []).append(NO_LONGER_WANTED if key in dropped else REMOVED)
        else:
            assert status == compared[key]
    assert all(len(found) == 1 for found in categories.values())
    assert categories.keys() == before.keys() | after.keys()
    expect = {
        **dict.fromkeys(after.keys() - before.keys(), ADDED),
        **{key: CHANGED for key in after.keys() & before.keys() if after[key] != before[key]},
        **{key: UNCHANGED for key in after.keys() & before.keys() if after[key] == before[key]},
        **{
            key: NO_LONGER_WANTED if key in dropped else REMOVED
            for key in before.keys() - after.keys()
        },
    }
    assert {key: found[0] for key, found in categories.items()} == expect
    assert all((key in baseline) == (key in before) for key in after.keys() | dropped)
    assert len(baseline) == len(before)
    assert sum(baseline.sizes.values()) == len(before)


def test_changed_fields_names_nested_fields_and_shows_the_first_three() -> None:
    old = {"id": "P1", "price": 900, "address": {"town": "Bath", "postcode": "BA1 1AA"}, "a": 1}
    new = {"id": "P1", "price": 950, "address": {"town": "Bath", "postcode": "BA2 2BB"}, "b": [1]}
    names, shown = changed_fields(old, new)
    assert names == ("a", "address.postcode", "b", "price")
    assert [change.to_json() for change in shown] == [
        {"field": "a", "old": 1, "new": None},
        {"field": "address.postcode", "old": "BA1 1AA", "new": "BA2 2BB"},
        {"field": "b", "old": None, "new": [1]},
    ]
    assert changed_fields(old, dict(old)) == ((), ())


def test_markdown_names_each_section_with_its_count_and_what_to_do() -> None:
    items = {
        CHANGED: [
            CatchUpItem(
                CHANGED,
                "inventory",
                "P1",
                fields=("a", "b", "price", "z"),
                shown=(FieldChange("a", 1, 2), FieldChange("b", True, False)),
            )
        ],
        NO_LONGER_WANTED: [
            CatchUpItem(
                NO_LONGER_WANTED,
                "applicants",
                "A1",
                label="Ms Ada Lovelace",
                rule="J-01",
                summary="Only searching profiles migrate.",
                reason="expired 2025-03-01",
            )
        ],
        NEW: [CatchUpItem(NEW, MANUAL, "todo/TD9", rule="J-10", reason="Re-enter: ring")],
    }
    counts = {
        "inventory": {CHANGED: 1, UNCHANGED: 4},
        "applicants": {NO_LONGER_WANTED: 1},
        MANUAL: {NEW: 1, UNCHANGED: 2},
    }
    text = "\n".join(catch_up_markdown({"since": "alto/", "as_of": "2025-06-09"}, counts, items))
    assert "| inventory | 0 | 1 | 0 | 0 | 4 |" in text
    assert "## Changed (1): update these records in Alto" in text
    assert "- inventory: `P1`: a 1 -> 2; b yes -> no (and 2 more: price, z)" in text
    assert "## Removed from Jupix (0): delete or archive in Alto" in text
    assert (
        "- applicants: Ms Ada Lovelace `A1` (J-01: Only searching profiles migrate.): "
        "expired 2025-03-01" in text
    )
    assert "## New manual actions (1)" in text
    assert "- manual action: `todo/TD9` (J-10): Re-enter: ring" in text
    assert "## No longer needed (0)" in text
    assert "Manual actions: 1 new, 0 changed, 0 no longer needed, 2 unchanged" in text


def test_an_item_reads_back_from_its_json() -> None:
    item = CatchUpItem(
        CHANGED, "inventory", "P1", fields=("price",), shown=(FieldChange("price", 1, 2),)
    )
    assert CatchUpItem.from_json(item.to_json()) == item
    assert section_of(CatchUpItem(CHANGED, MANUAL, "x")) == "changed manual action"
