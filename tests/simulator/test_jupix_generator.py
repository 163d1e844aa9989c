"""The Jupix export generator: valid, deterministic, streaming, and covering every J-rule."""

from __future__ import annotations

import re
import tracemalloc
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from adapters.jupix import JupixExport, Row
from engine.errors import RecordError
from simulator.jupix import EXPORTED_AT, SCENARIOS, write_jupix_export

TODAY = EXPORTED_AT.date().isoformat()
SIZE = 150


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> JupixExport:
    folder = tmp_path_factory.mktemp("jupix")
    write_jupix_export(folder, SIZE, seed=2025)
    return JupixExport(folder)


@pytest.fixture(scope="module")
def tables(export: JupixExport) -> dict[str, list[Row]]:
    loaded: dict[str, list[Row]] = {}
    for name in export.tables():
        rows = list(export.iter_rows(name))
        assert not [row for row in rows if isinstance(row, RecordError)]
        loaded[name] = [row for row in rows if not isinstance(row, RecordError)]
    return loaded


def test_a_generated_export_reads_back_with_no_problem_at_all(export: JupixExport) -> None:
    assert export.check(rows=True) == []
    assert export.manifest().exported_at == EXPORTED_AT.isoformat()


def test_size_is_the_number_of_properties(tables: dict[str, list[Row]]) -> None:
    assert len(tables["properties"]) == SIZE
    assert len(tables["contacts"]) > SIZE


def test_the_same_seed_gives_the_same_bytes(tmp_path: Path) -> None:
    first = write_jupix_export(tmp_path / "a", 40, seed=7)
    second = write_jupix_export(tmp_path / "b", 40, seed=7)
    other = write_jupix_export(tmp_path / "c", 40, seed=8)
    assert first == second
    assert (tmp_path / "a" / "manifest.json").read_bytes() == (
        tmp_path / "b" / "manifest.json"
    ).read_bytes()
    assert first.files["contacts.csv"] != other.files["contacts.csv"]
    assert first.agency != other.agency


def test_even_a_tiny_export_is_valid(tmp_path: Path) -> None:
    write_jupix_export(tmp_path, 1, seed=1)
    assert JupixExport(tmp_path).check(rows=True) == []


def test_every_scenario_is_used(tables: dict[str, list[Row]]) -> None:
    pairs = {(row["department"], row["crmStatus"]) for row in tables["properties"]}
    assert pairs >= {(scenario.department, scenario.status) for scenario in SCENARIOS}


def _by(rows: list[Row], column: str) -> dict[object, list[Row]]:
    grouped: dict[object, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[row[column]].append(row)
    return grouped


@pytest.mark.req("J-01", "J-17")
def test_applicants_expire_in_the_past_the_future_or_never(tables: dict[str, list[Row]]) -> None:
    expiries = [row["profileExpiryDate"] for row in tables["applicants"]]
    assert None in expiries
    assert any(isinstance(day, str) and day < TODAY for day in expiries)
    assert any(isinstance(day, str) and day > TODAY for day in expiries)


@pytest.mark.req("J-02")
def test_some_applicants_match_by_email_or_by_name_and_phone(
    tables: dict[str, list[Row]],
) -> None:
    def digits(phone: object) -> str:
        text = re.sub(r"\D", "", str(phone or ""))
        return "0" + text[2:] if text.startswith("44") else text

    by_email: Counter[str] = Counter()
    by_name_phone: Counter[tuple[str, str, str]] = Counter()
    for row in {row["contactID"]: row for row in tables["applicants"]}.values():
        if row["email"]:
            by_email[str(row["email"]).casefold()] += 1
        if row["phone"]:
            by_name_phone[(str(row["forename"]), str(row["surname"]), digits(row["phone"]))] += 1
    assert max(by_email.values()) >= 2
    assert max(by_name_phone.values()) >= 2


@pytest.mark.req("J-03", "J-13", "J-17")
def test_tenancies_in_every_status_with_renewal_chains_and_stale_ones(
    tables: dict[str, list[Row]],
) -> None:
    tenancies = tables["tenancies"]
    statuses = {row["status"] for row in tenancies}
    assert statuses == {
        "Active",
        "Active - Periodic",
        "Moved Out",
        "Renewed",
        "Proposed",
        "Cancelled",
    }
    ids = {row["tenancyID"] for row in tenancies}
    chained = [row for row in tenancies if row["renewedFromTenancyID"]]
    assert chained
    assert all(row["renewedFromTenancyID"] in ids for row in chained)
    stale = [r for r in tenancies if r["status"] == "Active" and str(r["endDate"] or "9") < TODAY]
    assert stale


@pytest.mark.req("J-04")
def test_applications_at_every_stage(tables: dict[str, list[Row]]) -> None:
    statuses = {row["status"] for row in tables["tenancy_applications"]}
    assert {"Offer Pending", "Proposed Tenancy", "Referencing", "Rejected", "Withdrawn"} <= statuses


@pytest.mark.req("J-05")
def test_on_market_properties_with_an_active_tenancy(tables: dict[str, list[Row]]) -> None:
    active = {r["propertyID"] for r in tables["tenancies"] if r["status"] == "Active"}
    on_market = [
        row
        for row in tables["properties"]
        if row["crmStatus"] == "Instructed - On Market" and row["department"] == "Lettings"
    ]
    assert any(row["propertyID"] in active for row in on_market)
    assert any(row["propertyID"] not in active for row in on_market)


@pytest.mark.req("J-04", "J-05")
def test_active_tenancies_on_properties_at_every_kind_of_status(
    tables: dict[str, list[Row]],
) -> None:
    live = ("Active", "Active - Periodic")
    active = {r["propertyID"] for r in tables["tenancies"] if r["status"] in live}
    proposed = {r["propertyID"] for r in tables["tenancies"] if r["status"] == "Proposed"}
    applied = {
        row["propertyID"]
        for row in tables["tenancy_applications"]
        if row["status"] in ("Proposed Tenancy", "Referencing")
    }
    lettings = [row for row in tables["properties"] if row["department"] == "Lettings"]
    with_tenancy = {row["crmStatus"] for row in lettings if row["propertyID"] in active}
    assert with_tenancy >= {
        "Valuation",
        "Instructed - On Market",
        "Under Offer",
        "Let Agreed",
        "Let",
        "Withdrawn",
    }
    assert any(row["archived"] and row["propertyID"] in active for row in lettings)
    on_market = {r["propertyID"] for r in lettings if r["crmStatus"] == "Instructed - On Market"}
    assert on_market & proposed  # a Proposed row on a property still marketed
    assert (on_market & applied) - proposed  # an application that becomes the tenancy


@pytest.mark.req("J-01")
def test_a_contact_with_every_profile_lapsed_and_one_with_a_live_profile_too(
    tables: dict[str, list[Row]],
) -> None:
    profiles: dict[object, list[bool]] = defaultdict(list)
    for row in tables["applicants"]:
        expiry = row["profileExpiryDate"]
        live = not row["archived"] and (expiry is None or str(expiry) > TODAY)
        profiles[row["contactID"]].append(live)
    assert any(len(lives) >= 2 and not any(lives) for lives in profiles.values())
    assert any(len(lives) >= 2 and any(lives) and not all(lives) for lives in profiles.values())


@pytest.mark.req("J-06")
def test_sold_stc_under_offer_exchanged_with_and_without_offers_or_sales(
    tables: dict[str, list[Row]],
) -> None:
    live_offers = {
        row["propertyID"] for row in tables["offers"] if row["status"] in ("Pending", "Accepted")
    }
    current = {row["propertyID"] for row in tables["sales"] if row["status"] == "Current"}
    for status in ("Sold STC", "Under Offer", "Exchanged"):
        ids = {row["propertyID"] for row in _by(tables["properties"], "crmStatus")[status]}
        assert ids & (live_offers | current), status
        assert ids - live_offers - current, status


@pytest.mark.req("J-07")
def test_archived_properties_with_media(tables: dict[str, list[Row]]) -> None:
    archived = [row for row in tables["properties"] if row["archived"]]
    assert any(row["images"] for row in archived)
    assert any(row["images"] for row in tables["properties"] if not row["archived"])


@pytest.mark.req("J-08")
def test_property_notes_either_side_of_2019_with_and_without_priority(
    tables: dict[str, list[Row]],
) -> None:
    kinds = {(str(row["date"]) < "2019-01-01", row["priority"]) for row in tables["property_notes"]}
    assert kinds == {(True, True), (True, False), (False, True), (False, False)}


@pytest.mark.req("J-09", "J-10", "J-14")
def test_maintenance_todo_chain_notes_and_milestones(tables: dict[str, list[Row]]) -> None:
    assert {row["ownerType"] for row in tables["maintenance_notes"]} == {"property", "landlord"}
    assert tables["todo_notes"]
    assert tables["sale_chain_notes"]
    assert any(row["completedDate"] is None for row in tables["progression_milestones"])
    assert any(row["completedDate"] for row in tables["progression_milestones"])


@pytest.mark.req("J-11", "J-12", "J-16")
def test_agents_and_suppliers_who_own_or_apply_and_people_with_several_roles(
    tables: dict[str, list[Row]],
) -> None:
    contacts = {row["contactID"]: row for row in tables["contacts"]}
    owners = {owner for row in tables["properties"] for owner in _ids(row["ownerContactIDs"])}
    applicants = {row["contactID"] for row in tables["applicants"]}

    def with_role(role: str) -> set[object]:
        return {cid for cid, row in contacts.items() if role in _ids(row["roles"])}

    assert with_role("estate agent") & owners
    assert with_role("third-party supplier") & owners
    assert with_role("third-party supplier") & applicants
    assert with_role("potential landlord")
    assert any(len(_ids(row["roles"])) >= 3 for row in contacts.values())


def _ids(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def _peak(folder: Path, size: int) -> tuple[int, int]:
    tracemalloc.start()
    write_jupix_export(folder, size, seed=3)
    _, written = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    for _ in JupixExport(folder).iter_rows("contacts"):
        pass
    for _ in JupixExport(folder).iter_rows("properties"):
        pass
    _, read = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return written, read


def test_writing_and_reading_stream_in_flat_memory(tmp_path: Path) -> None:
    small = _peak(tmp_path / "small", 100)
    large = _peak(tmp_path / "large", 800)
    assert large[0] < small[0] * 2 + 1_000_000
    assert large[1] < small[1] * 2 + 1_000_000
