"""`engine.trace`: one record's whole decision, every rule evaluated and the decider marked."""

from __future__ import annotations

import json
from datetime import date

import pytest

from engine import EvaluationError, load_ruleset
from engine.trace import trace
from tests.rulesets.alto import AS_OF, DEFAULT, RULESET_PATH, prop

JUPIX = load_ruleset(RULESET_PATH.parents[1] / "jupix-alto" / "v1.yaml")


@pytest.mark.req("P-02", "P-05")
def test_every_include_rule_is_evaluated_and_only_the_first_failure_decides() -> None:
    """A let-only commercial property fails P-02 and P-05: both are shown failing, P-02
    (the first) decided, and no payload is mapped for a skipped record."""
    record = prop("100001", managementType="LetOnly", categoryType="Commercial")
    found = trace(DEFAULT, "property", record, DEFAULT.context(as_of=AS_OF))
    assert not found.included
    assert found.deciding == "P-02"
    assert [(r.id, r.held, r.deciding) for r in found.include] == [
        ("P-01", True, False),
        ("P-02", False, True),
        ("P-03", True, False),
        ("P-05", False, False),
        ("P-06", True, False),
    ]
    p05 = found.include[3]
    assert p05.because[0].value == "Commercial"
    assert p05.line == DEFAULT.rules["P-05"].line
    assert found.payload is None
    words = found.to_json()["include"][3]["in_words"]
    said = "category type is Commercial, not one of Residential (the setting property categories)"
    assert words == [f"P-05: {said}"]


@pytest.mark.req("P-07")
def test_an_included_record_shows_its_payload_and_on_create_fields() -> None:
    found = trace(DEFAULT, "property", prop("100001"), DEFAULT.context(as_of=AS_OF))
    assert found.included
    assert found.deciding is None
    assert not any(rule.deciding for rule in found.include)
    assert found.payload is not None
    assert found.payload["ExternalPropertyRef"] == "100001"
    assert found.payload["Address"]["PostCode"] == "LS6 1AA"
    assert found.on_create == {}
    assert found.archived_by == ()


@pytest.mark.req("T-04", "T-05")
def test_archive_rules_that_hold_for_a_skipped_record_decide() -> None:
    """An inactive occupier with no tenancy: T-01 decides the skip; T-04 (inactive) and
    T-05 (no live tenancy) both hold and are marked as deciding the archive."""
    contact = {"id": "C1", "contactType": {"persona": ["Tenant"]}, "isActive": False}
    found = trace(DEFAULT, "occupier", contact, DEFAULT.context(as_of=AS_OF))
    assert found.deciding == "T-01"
    assert [(r.id, r.held, r.deciding) for r in found.archive] == [
        ("T-04", True, True),
        ("T-05", True, True),
    ]
    assert found.archived_by == ("T-04", "T-05")


@pytest.mark.req("J-11")
def test_a_case_branch_that_chose_a_value_is_named_with_the_label() -> None:
    """Jupix: an estate agent who owns a property is a Client by J-11; the source's label
    names the contact."""
    contact = {
        "contactID": "C1",
        "title": "Mr",
        "forename": "Harry",
        "surname": "Nguyen",
        "companyName": "Hughes",
        "roles": ["estate agent"],
        "archived": False,
    }
    owned = {"propertyID": "P1", "ownerContactIDs": ["C1"]}
    context = JUPIX.context(
        {"jupix.contacts": [contact], "jupix.properties": [owned]}, as_of=date(2025, 6, 2)
    )
    found = trace(JUPIX, "contact", contact, context)
    assert found.label == "Mr Harry Nguyen (Hughes)"
    chosen = {branch.path: (branch.rule, branch.value) for branch in found.branches}
    assert chosen["contactType"] == ("J-11", "Client")
    data = json.loads(json.dumps(found.to_json(), default=str))
    assert data["branches"][0]["rule"] == "J-11"
    assert data["payload"]["contactType"] == "Client"


def test_an_unknown_entity_is_named_with_a_suggestion() -> None:
    with pytest.raises(
        EvaluationError, match=r"no entity 'proprety' \(did you mean 'property'\?\)"
    ):
        trace(DEFAULT, "proprety", {}, DEFAULT.context(as_of=AS_OF))
