"""`CompiledRuleset.dependencies`: the rules, entities and settings each rule reads, computed
at compile time; `dependents` is its reverse (the browser's "depends on" and "used by")."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from engine import load_ruleset
from engine.canonical import content_hash
from engine.documents import load_document
from tests.engine.rulesets import compile_rules, ruleset_data, write

ROOT = Path(__file__).resolve().parents[2]
V2 = ROOT / "rulesets" / "alto-fixflo" / "v2.yaml"
RULESET = load_ruleset(V2)


def test_t01_depends_on_the_property_entity_and_the_live_tenancy_setting() -> None:
    # T-01: a tenant on an active or periodic tenancy ({included: property}) at a property
    # that syncs; "active or periodic" is the setting live_tenancy_statuses.
    assert RULESET.dependencies["T-01"] == ("entity:property", "setting:live_tenancy_statuses")


def test_a_rule_reference_is_a_dependency_and_dependents_are_its_reverse() -> None:
    # T-05 archives an occupier whose tenancy is no longer live: it reads T-01 ({rule: T-01}).
    assert "rule:T-01" in RULESET.dependencies["T-05"]
    assert RULESET.dependents("T-01") == ("T-05",)
    assert RULESET.dependents("no-such-rule") == ()


def test_settings_in_conditions_and_values_are_both_read() -> None:
    # W-06: {setting: invoice_recipient, in: [...]} (a condition on a setting);
    # CH-04: {field: ..., eq: {setting: invoice_media_type}} (a setting as a value).
    assert RULESET.dependencies["W-06"] == ("setting:invoice_recipient",)
    assert RULESET.dependencies["CH-04"] == ("setting:invoice_media_type",)
    assert RULESET.dependencies["P-05"] == ("setting:property_categories",)


def test_a_status_depends_on_its_cases_attachments_charge_and_works_order_checks() -> None:
    closed = RULESET.dependencies["W-09"]
    assert {"rule:W-09.cancelled", "rule:W-09.report", "rule:W-09.documents"} <= set(closed)
    assert {"rule:CH-04", "rule:CH-05", "rule:W-06.charge", "rule:CH-02.tenant"} <= set(closed)
    assert {"rule:W-03.job", "rule:W-05.property"} <= set(closed)
    # a setting read by one of its parts is that part's, not the status's own
    assert not [name for name in closed if name.startswith("setting:")]
    assert RULESET.dependencies["W-09.documents"] == ("setting:invoice_media_type",)
    # a status asking for no works order depends on nothing
    assert RULESET.dependencies["W-01"] == ()
    assert "W-09" in RULESET.dependents("CH-05")
    assert RULESET.dependents("W-03.job") == ("W-03", "W-07", "W-08", "W-09")


def test_every_rule_and_lifecycle_part_has_an_entry_and_each_entry_is_sorted() -> None:
    lifecycle = RULESET.lifecycle
    assert lifecycle is not None
    ids = set(RULESET.rules) | {status.id for status in lifecycle.statuses.values()}
    ids |= {warning.id for warning in lifecycle.warnings}
    assert ids <= set(RULESET.dependencies)
    for reads in RULESET.dependencies.values():
        assert list(reads) == sorted(set(reads))
        assert all(read.split(":")[0] in ("rule", "entity", "setting") for read in reads)


def test_the_content_hash_is_still_the_documents_own() -> None:
    assert RULESET.content_hash == content_hash(load_document(V2).data)


def test_a_small_ruleset_with_a_rule_reference(tmp_path: Path) -> None:
    ruleset = compile_rules(
        tmp_path, {"field": "kind", "eq": "a"}, {"all": [{"rule": "R1"}, {"included": "parts"}]}
    )
    assert ruleset.dependencies["R1"] == ()
    assert ruleset.dependencies["R2"] == ("entity:part", "rule:R1")
    assert ruleset.dependents("R1") == ("R2",)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.sets(st.integers(min_value=0, max_value=5), max_size=3), min_size=1, max_size=6))
def test_any_acyclic_references_give_exactly_those_dependencies(
    tmp_path_factory: object, refs: list[set[int]]
) -> None:
    # rule i may read any rule before it (no cycles); each reads kind to be a condition
    reads = [sorted(j for j in chosen if j < index) for index, chosen in enumerate(refs)]
    rules = [
        {
            "id": f"R{index}",
            "when": {"all": [{"field": "kind", "eq": "a"}, *({"rule": f"R{j}"} for j in wanted)]},
        }
        for index, wanted in enumerate(reads)
    ]
    folder = tmp_path_factory.mktemp("deps")  # type: ignore[attr-defined]
    ruleset = load_ruleset(write(folder, ruleset_data(rules)))
    for index, wanted in enumerate(reads):
        assert ruleset.dependencies[f"R{index}"] == tuple(sorted(f"rule:R{j}" for j in wanted))
        users = sorted(f"R{i}" for i, other in enumerate(reads) if index in other)
        assert ruleset.dependents(f"R{index}") == tuple(users)
