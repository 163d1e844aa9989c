"""Benchmark: the engine against a hand-written Python function doing the same work.

For generated agencies of each size, in one process:

- baseline: a hand-written function applying exactly the alto-fixflo v2 include rules and
  field maps with the default settings (P-01..P-06; occupiers T-01/T-02/G-03 through
  contact details and tenancy_tenants to live tenancies at included properties; landlords
  L-01; contractors C-01 through the same-id Supplier contact, C-02, G-03) to every record;
- engine: the compiled ruleset doing the same (include rules, then the map);
- plan: the whole `make_plan` (explanations, merges against Fixflo, diffs, links).

Before timing, it checks that both include the same records per entity with the same
mapped fields, prints the counts, and stops with an error if they differ: the ratio then
compares equal work. It prints records per second for each, the engine/baseline ratio
(target: within 2x), and the peak memory each pass adds on top of the records already in
memory (tracemalloc, in a separate run so that timing is not slowed). Records are counted
once per entity evaluated.

Usage: python bench/plan_bench.py [--sizes 10000 100000] [--seed 1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from engine import CompiledRuleset, load_ruleset
from engine.sync.plan import Plan
from engine.sync.planner import make_plan
from simulator.agency import AgencyGenerator

RULESET = Path(__file__).resolve().parent.parent / "rulesets" / "alto-fixflo" / "v2.yaml"
AS_OF = date(2026, 11, 22)
Record = dict[str, Any]
Records = dict[str, list[Record]]
Kept = dict[str, list[Record]]
ENTITIES = ("property", "occupier", "landlord", "contractor")
MANAGED = {"Managed", "FullyManaged", "PartManaged"}  # gap.management-type
CATEGORIES = {"Residential"}  # the property_categories default

STATUSES = {  # the property_statuses default
    "Available",
    "UnderOffer",
    "Let",
    "LetAgreed",
    "LetMarketing",
    "Instructed",
    "UnderOfferMarketing",
    "UnderOfferAvailable",
    "Reserved",
}
# the live_tenancy_statuses default
LIVE = {"Active", "Periodic", "Renewal in Progress", "Vacate in Progress"}
TRADES = {
    "plumbing",
    "window cleaning",
    "gardening",
    "gas",
    "electricity",
    "oil",
    "water",
    "bulk lpg",
    "carpentry",
    "pest control",
    "building maintenance",
    "contents insurance",
    "building insurance",
    "public liability insurance",
    "council",
    "sewerage",
    "board contractor",
    "external printer",
    "builder",
    "landlords insurance",
    "rent indemnity insurance",
    "utility",
    "electrician",
}


def generate(size: int, seed: int) -> Records:
    """A generated agency held in memory, by source name (every Alto and Fixflo collection
    a snapshot of it would hold, in the vendors' shapes)."""
    agency = AgencyGenerator(size=size, seed=seed)
    records: Records = {}
    for system, collections in (
        ("alto", agency.alto_collections()),
        ("fixflo", agency.fixflo_collections()),
    ):
        for name, stream in collections.items():
            records[f"{system}.{name}"] = list(stream)
    return records


def _text(value: Any) -> str:
    """As the engine's `join` reads a part: missing is empty, lists joined, then stripped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_text(item) for item in value if not _empty(item))
    return str(value).strip()


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _or_none(value: Any) -> Any:
    """What a `related` value gives: the first non-empty value, else None."""
    return None if _empty(value) else value


def _join(*parts: Any) -> str | None:
    return " ".join(text for text in map(_text, parts) if text) or None


def _at(items: Any, position: int) -> Any:
    """`items[position]` as a path step reads it: None when out of range or not a list."""
    return items[position] if type(items) is list and position < len(items) else None


def _key(value: Any) -> str | None:
    """The text a relation joins on (ids may be numbers or text)."""
    return None if value is None or isinstance(value, bool | dict | list) else str(value)


def _index(records: list[Record], field: str) -> dict[str, list[Record]]:
    """Records by the text of `field`, in source order (a relation's index)."""
    index: dict[str, list[Record]] = {}
    for record in records:
        key = _key(record.get(field))
        if key is not None:
            index.setdefault(key, []).append(record)
    return index


def _property(record: Record) -> Record:
    """P-07 / G-02 and the address map of the v2 property entity."""
    address = record.get("address") or {}
    return {
        "ExternalPropertyRef": record.get("inventoryId"),
        "Address": {
            "AddressLine1": _join(
                address.get("subDwelling"), address.get("nameNo"), address.get("street")
            ),
            "AddressLine2": address.get("locality"),
            "Town": address.get("town"),
            "County": address.get("county"),
            "PostCode": address.get("postcode"),
            "Country": _or_none(address.get("countryCode")) or "GB",
        },
    }


def _property_included(record: Record) -> bool:
    """P-01, P-02 (gap.management-type), P-03, P-05, P-06 with the default settings."""
    return (
        record.get("recordType") == "Rent"
        and record.get("managementType") in MANAGED
        and record.get("maintenanceType") == "MaintainedByUs"
        and record.get("categoryType") in CATEGORIES
        and record.get("status") in STATUSES
    )


def _person(contact: Record, details: Record | None) -> Record:
    """The v2 person map of a landlord or occupier: names, email and phones from the
    contact details' first person, the address from the details."""
    details = details or {}
    person = _at(details.get("people"), 0) or {}
    phones = person.get("phoneNumbers")
    address = details.get("address") or {}
    return {
        "ExternalRef": contact.get("id"),
        "Title": _or_none(person.get("title")),
        "FirstName": _or_none(person.get("forename")),
        "Surname": _or_none(person.get("surname")),
        "CompanyName": contact.get("companyName"),
        "EmailAddress": _or_none(_email(details)),
        "ContactNumber": _or_none((_at(phones, 0) or {}).get("number")),
        "ContactNumberAlt": _or_none((_at(phones, 1) or {}).get("number")),
        "Address": {
            "AddressLine1": _join(
                address.get("subDwelling"), address.get("nameNumber"), address.get("street")
            ),
            "AddressLine2": _or_none(address.get("locality")),
            "Town": _or_none(address.get("town")),
            "County": _or_none(address.get("county")),
            "PostCode": _or_none(address.get("postcode")),
            "Country": _or_none(address.get("countryCode")) or "GB",
        },
    }


def _email(details: Record) -> Any:
    person = _at(details.get("people"), 0) or {}
    return (_at(person.get("emailAddresses"), 0) or {}).get("address")


def _active_with_email(contact: Record, details: Record | None) -> bool:
    """T-02 / landlord-active, then G-03: active, details not archived, an email."""
    return (
        contact.get("isActive") is True
        and details is not None
        and details.get("archived") is not True
        and not _empty(_email(details))
    )


def _personas(contact: Record) -> list[Any]:
    persona = (contact.get("contactType") or {}).get("persona")
    return persona if type(persona) is list else [persona]


class _Alto:
    """The indexes the hand-written pass joins through (built per pass, as the engine's)."""

    def __init__(self, records: Records) -> None:
        self.details = {
            key: found[0] for key, found in _index(records["alto.contact_details"], "id").items()
        }
        self.places = _index(records["alto.tenancy_tenants"], "contactId")
        self.tenancies = _index(records["alto.tenancies"], "id")
        self.properties: dict[str, Record] = {}
        self.active_suppliers = {
            _key(contact.get("id"))
            for contact in records["alto.contacts"]
            if (contact.get("contactType") or {}).get("category") == "Supplier"
            and contact.get("isActive") is True
        }

    def live_property(self, contact: Record) -> Any:
        """T-01: the inventoryId of the first included property of a live tenancy held
        through the contact's places, else None (the occupier's ExternalPropertyRef)."""
        for place in self.places.get(str(contact.get("id")), ()):
            for tenancy in self.tenancies.get(str(place.get("tenancyId")), ()):
                if tenancy.get("status") in LIVE:
                    included = self.properties.get(str(tenancy.get("propertyId")))
                    if included is not None and not _empty(included["ExternalPropertyRef"]):
                        return included["ExternalPropertyRef"]
        return None


def _contractor(supplier: Record) -> Record:
    """C-03 from the supplier's first person (gap.supplier-person); ExternalRef the id."""
    person = _at(supplier.get("people"), 0) or {}
    phones = person.get("telephoneNumbers")
    return {
        "ExternalRef": supplier.get("id"),
        "Title": person.get("title"),
        "FirstName": person.get("forename"),
        "Surname": person.get("surname"),
        "CompanyName": supplier.get("companyName"),
        "EmailAddress": _at(person.get("emailAddresses"), 0),
        "ContactNumber": _at(phones, 0),
        "ContactNumberAlt": _at(phones, 1),
    }


def _contractor_included(supplier: Record, alto: _Alto) -> bool:
    """C-01 (gap.supplier-active), C-02 (any trade, ignoring case), G-03."""
    services = supplier.get("providedServices")
    services = services if type(services) is list else [services]
    person = _at(supplier.get("people"), 0) or {}
    return (
        _key(supplier.get("id")) in alto.active_suppliers
        and any(type(s) is str and s.casefold() in TRADES for s in services)
        and not _empty(_at(person.get("emailAddresses"), 0))
    )


def baseline(records: Records, keep: Kept | None = None) -> dict[str, int]:
    """The v2 include rules and maps written by hand (default settings).

    Returns how many records each entity included; with `keep`, also appends each
    included record's mapped fields to ``keep[entity]`` (for the equal-work check).
    """
    alto, counts = _Alto(records), dict.fromkeys(ENTITIES, 0)
    for record in records["alto.inventory"]:
        if _property_included(record):
            alto.properties[str(record.get("inventoryId"))] = payload = _property(record)
            _count(counts, keep, "property", payload)
    for contact in records["alto.contacts"]:
        details = alto.details.get(str(contact.get("id")))
        if "Tenant" in _personas(contact) and _active_with_email(contact, details):
            ref = alto.live_property(contact)
            if ref is not None:
                payload = {**_person(contact, details), "ExternalPropertyRef": ref}
                _count(counts, keep, "occupier", payload)
    for contact in records["alto.contacts"]:
        details = alto.details.get(str(contact.get("id")))
        if (
            (contact.get("contactType") or {}).get("category") == "Client"
            and "Landlord" in _personas(contact)
            and _active_with_email(contact, details)
        ):
            _count(counts, keep, "landlord", _person(contact, details))
    for supplier in records["alto.suppliers"]:
        if _contractor_included(supplier, alto):
            _count(counts, keep, "contractor", _contractor(supplier))
    return counts


def _count(counts: dict[str, int], keep: Kept | None, entity: str, payload: Record) -> None:
    counts[entity] += 1
    if keep is not None:
        keep.setdefault(entity, []).append(payload)


def engine_pass(
    ruleset: CompiledRuleset, records: Records, keep: Kept | None = None
) -> dict[str, int]:
    """The compiled ruleset's include rules and maps over every record, as the plan does;
    how many records each entity included (and, with `keep`, their mapped fields)."""
    context = ruleset.context({k: v for k, v in records.items() if k in ruleset.sources}, AS_OF)
    counts: dict[str, int] = {}
    for name, entity in ruleset.entities.items():
        counts[name] = 0
        for record in records[entity.source]:
            if entity.includes(record, context):
                _count(counts, keep, name, entity.map(record, context))
    return counts


def _ref(payload: Record) -> Any:
    return payload.get("ExternalRef", payload.get("ExternalPropertyRef"))


def _differing(mine: Record, theirs: Record, prefix: str = "") -> list[str]:
    """The dotted names of the fields that differ (values not shown: they are people's)."""
    names = []
    for name in sorted(set(mine) | set(theirs)):
        left, right = mine.get(name), theirs.get(name)
        if isinstance(left, dict) and isinstance(right, dict):
            names.extend(_differing(left, right, f"{prefix}{name}."))
        elif left != right or (name in mine) != (name in theirs):
            names.append(prefix + name)
    return names


def check_equal_work(ruleset: CompiledRuleset, records: Records) -> dict[str, int]:
    """Fail loudly unless the baseline and the engine include the same records per entity
    with the same mapped fields; the counts per entity."""
    base_kept: Kept = {}
    engine_kept: Kept = {}
    base = baseline(records, base_kept)
    engine = engine_pass(ruleset, records, engine_kept)
    print("included per entity (baseline / engine):")
    for entity in ENTITIES:
        mark = "" if base.get(entity) == engine.get(entity) else "   <-- DIFFERENT"
        print(f"  {entity:<11}{base.get(entity, 0):>8,} / {engine.get(entity, 0):<8,}{mark}")
    if base != engine:
        raise SystemExit(f"FAILED: the baseline included {base}, the engine {engine}")
    for entity in ENTITIES:
        pairs = zip(base_kept.get(entity, []), engine_kept.get(entity, []), strict=True)
        for position, (mine, theirs) in enumerate(pairs):
            if mine != theirs:
                raise SystemExit(
                    f"FAILED: {entity} #{position} (ref {_ref(theirs)}) maps differently in "
                    f"{', '.join(_differing(mine, theirs))}: fix the baseline to follow v2.yaml"
                )
    return engine


def timed(work: Callable[[], object], repeat: int) -> tuple[float, object]:
    """The best wall time of `repeat` runs, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return best, result


def peak_mib(work: Callable[[], object]) -> float:
    """Peak memory allocated while `work` runs, in MiB."""
    gc.collect()
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / (1024 * 1024)


def run(size: int, seed: int, repeat: int, ruleset: CompiledRuleset) -> None:
    records = generate(size, seed)
    evaluated = sum(len(records[entity.source]) for entity in ruleset.entities.values())
    print(
        f"\n== {size:,} properties ({sum(map(len, records.values())):,} records in all, "
        f"{evaluated:,} evaluations) =="
    )
    included = sum(check_equal_work(ruleset, records).values())
    base_time, _ = timed(lambda: baseline(records), repeat)
    engine_time, _ = timed(lambda: engine_pass(ruleset, records), repeat)
    plan_time, made = timed(lambda: make_plan(ruleset, records, as_of=AS_OF), repeat)
    assert isinstance(made, Plan)
    for name, seconds in (("baseline", base_time), ("engine", engine_time)):
        print(
            f"{name:<9} {evaluated / seconds:>12,.0f} records/s  {seconds:7.3f} s  "
            f"included {included:,}"
        )
    print(
        f"plan      {evaluated / plan_time:>12,.0f} records/s  {plan_time:7.3f} s  "
        f"{len(made.operations):,} operations, {len(made.skips):,} skips"
    )
    print(
        f"ratio engine/baseline {engine_time / base_time:.2f}x (target <= 2x); "
        f"plan/baseline {plan_time / base_time:.2f}x"
    )
    base_peak = peak_mib(lambda: baseline(records))
    engine_peak = peak_mib(lambda: engine_pass(ruleset, records))
    plan_peak = peak_mib(lambda: make_plan(ruleset, records, as_of=AS_OF))
    print(
        f"peak memory added: baseline {base_peak:.1f} MiB, engine {engine_peak:.1f} MiB "
        f"({engine_peak * 1024 / evaluated:.2f} KiB per evaluation), whole plan "
        f"{plan_peak:.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ruleset = load_ruleset(RULESET)
    for size in args.sizes:
        run(size, args.seed, args.repeat, ruleset)


if __name__ == "__main__":
    main()
