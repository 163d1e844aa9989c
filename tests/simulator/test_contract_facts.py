"""The committed contract facts: a byte copy of ../shared, and every operation readable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.fake.contract import FACTS, FactsError, load_contract

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "contracts" / "facts.json"


@pytest.mark.skipif(not SHARED.exists(), reason="no ../shared/contracts beside this checkout")
def test_the_committed_facts_are_the_shared_facts_byte_for_byte() -> None:
    assert FACTS.read_bytes() == SHARED.read_bytes()


def test_every_operation_of_the_facts_is_in_the_model() -> None:
    facts = json.loads(FACTS.read_text("utf-8"))
    contract = load_contract()
    for system in ("alto", "fixflo"):
        keys = {key for key in facts[system] if not key.startswith("_")}
        assert set(contract.operations[system]) == keys
        for key in keys:
            op = contract.operation(system, key)
            assert (op.method, op.path) == (
                facts[system][key]["method"],
                facts[system][key]["path"].removeprefix("https://api.alto.zoopladev.co.uk"),
            )


def test_the_model_reads_paging_envelopes_and_content_types() -> None:
    contract = load_contract()
    assert contract.operation("alto", "inventory_filter").paging == ("next-token", "max-results")
    assert contract.operation("alto", "suppliers_list").paging == ("nextToken", "maxResults")
    assert contract.operation("fixflo", "contractors_list").paging == ("Pg",)
    assert contract.operation("fixflo", "issues_job_awarded").paging == ("Page",)
    assert contract.operation("alto", "charge_tenancy").media_type == "multipart/form-data"
    assert contract.operation("alto", "contacts_patch").media_type == "application/json-patch+json"
    assert contract.operation("alto", "work_order_patch").media_type == "application/json"
    assert contract.operation("alto", "contacts_all").errors == "ErrorsResponse"
    assert contract.operation("alto", "tenancies_list").errors == "ProblemDetails"
    assert contract.operation("fixflo", "property_save").errors == "Envelope"
    assert contract.operation("alto", "inventory_filter").headers == ("agencyref",)


def test_query_params_keep_arrays_enums_ranges_and_required_markers() -> None:
    contract = load_contract()
    persona = contract.operation("alto", "contacts_all").query["persona"]
    assert type(persona.shape).__name__ == "Arr"
    size = contract.operation("alto", "inventory_filter").query["max-results"].shape
    assert (getattr(size, "low", None), getattr(size, "high", None)) == (1, 250)
    assert contract.operation("alto", "inventory_search").query["query"].required


def test_a_spec_key_ending_in_a_tab_is_read_without_it() -> None:
    landlord = load_contract().operation("fixflo", "landlord_get").response
    assert {"Address", "EmailCC"} <= set(getattr(landlord, "fields", {}))


@pytest.mark.parametrize(
    ("system", "key", "part", "value", "named"),
    [
        ("alto", "inventory_filter", "response_fields", {"meta": "Mystery?"}, "Mystery"),
        ("fixflo", "property_save", "response_fields", "Envelope of something", "property_save"),
        ("fixflo", "tenant_get", "query_params", "whatever", "tenant_get"),
        ("alto", "owners_list", "request_fields", "a prose body", "owners_list"),
        ("alto", "inventory_get", "response_fields", {"x": ["list"]}, "inventory_get"),
    ],
)
def test_facts_the_model_cannot_read_fail_naming_the_operation(
    tmp_path: Path, system: str, key: str, part: str, value: object, named: str
) -> None:
    facts = json.loads(FACTS.read_text("utf-8"))
    facts[system][key][part] = value
    broken = tmp_path / "facts.json"
    broken.write_text(json.dumps(facts), "utf-8")
    with pytest.raises(FactsError, match=named):
        load_contract(broken)
