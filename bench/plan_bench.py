"""Benchmark: the engine against a hand-written Python function doing the same work.

For generated agencies of each size, in one process:

- baseline: a hand-written function applying the alto-fixflo filters (P-01..P-06,
  T-01/T-02, L-01, C-01/C-02, G-03) and field maps to every record;
- engine: the compiled ruleset doing the same (include rules, then the map);
- plan: the whole `make_plan` (explanations, merges against Fixflo, diffs, links).

It prints records per second for each, the engine/baseline ratio (target: within 2x), and
the peak memory each pass adds on top of the records already in memory (tracemalloc, in a
separate run so that timing is not slowed). Records are counted once per entity evaluated.

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
from engine.sync.planner import make_plan
from simulator.agency import AgencyGenerator

RULESET = Path(__file__).resolve().parent.parent / "rulesets" / "alto-fixflo" / "v2.yaml"
AS_OF = date(2026, 11, 22)
Records = dict[str, list[dict[str, Any]]]

STATUSES = {
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
    """A generated agency held in memory, by source name."""
    agency = AgencyGenerator(size=size, seed=seed)
    return {
        "alto.inventory": list(agency.inventory()),
        "alto.contacts": list(agency.contacts()),
        "alto.tenancies": list(agency.tenancies()),
        "alto.suppliers": list(agency.suppliers()),
        "fixflo.properties": list(agency.fixflo_properties()),
        "fixflo.landlords": list(agency.fixflo_landlords()),
        "fixflo.tenants": list(agency.fixflo_tenants()),
    }


def _address(record: dict[str, Any]) -> dict[str, Any]:
    address = record.get("address") or {}
    line = " ".join(
        str(part).strip()
        for part in (address.get("subDwelling"), address.get("nameNo"), address.get("street"))
        if part and str(part).strip()
    )
    return {
        "AddressLine1": line or None,
        "AddressLine2": address.get("locality"),
        "Town": address.get("town"),
        "County": address.get("county"),
        "PostCode": address.get("postcode"),
        "Country": address.get("countryCode") or "GB",
    }


def _person(record: dict[str, Any], ref: str) -> dict[str, Any]:
    emails, phones = record.get("emailAddresses") or [], record.get("phoneNumbers") or []
    return {
        "ExternalRef": ref,
        "Title": record.get("title"),
        "FirstName": record.get("forename"),
        "Surname": record.get("surname"),
        "CompanyName": record.get("companyName"),
        "EmailAddress": emails[0] if emails else None,
        "ContactNumber": phones[0].get("number") if phones else None,
        "ContactNumberAlt": phones[1].get("number") if len(phones) > 1 else None,
    }


def baseline(records: Records) -> int:
    """The same filters and maps written by hand; returns how many records it included."""
    properties = {}
    for record in records["alto.inventory"]:
        if (
            record.get("recordType") == "Rent"
            and record.get("managementType") in ("Managed", "PartManaged")
            and record.get("maintenanceType") == "MaintainedByUs"
            and record.get("categoryType") == "Residential"
            and record.get("inventoryStatus") in STATUSES
        ):
            properties[str(record["id"])] = {
                "ExternalPropertyRef": f"{record['id']}/{record['oid']}",
                "Address": _address(record),
            }
    by_tenant: dict[str, list[dict[str, Any]]] = {}
    for tenancy in records["alto.tenancies"]:
        for tenant in tenancy.get("tenants") or []:
            by_tenant.setdefault(str(tenant.get("id")), []).append(tenancy)
    included = len(properties)
    for record in records["alto.contacts"]:
        live = [
            t
            for t in by_tenant.get(str(record["id"]), [])
            if t.get("status") in LIVE and str(t.get("propertyId")) in properties
        ]
        active = not record.get("archived") and not record.get("deleted")
        if live and active and record.get("emailAddresses"):
            payload = {
                **_person(record, str(record["id"])),
                "Address": _address(record),
                "ExternalPropertyRef": properties[str(live[0]["propertyId"])][
                    "ExternalPropertyRef"
                ],
            }
            included += bool(payload)
        if (
            record.get("contactType") == "Client - Landlord"
            and active
            and record.get("emailAddresses")
        ):
            included += bool({**_person(record, str(record["id"])), "Address": _address(record)})
    for record in records["alto.suppliers"]:
        trades = {str(trade).casefold() for trade in record.get("providedServices") or []}
        if (
            record.get("active") is True
            and not record.get("archived")
            and trades & TRADES
            and record.get("emailAddresses")
        ):
            included += bool(_person(record, f"{record['id']}/{record['oid']}"))
    return included


def engine_pass(ruleset: CompiledRuleset, records: Records) -> int:
    """The compiled ruleset's include rules and maps over every record, as the plan does."""
    context = ruleset.context({k: v for k, v in records.items() if k in ruleset.sources}, AS_OF)
    included = 0
    for entity in ruleset.entities.values():
        for record in records[entity.source]:
            if entity.includes(record, context):
                included += bool(entity.map(record, context))
    return included


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
    base_time, base_count = timed(lambda: baseline(records), repeat)
    engine_time, engine_count = timed(lambda: engine_pass(ruleset, records), repeat)
    plan_time, made = timed(lambda: make_plan(ruleset, records, as_of=AS_OF), 1)
    print(
        f"\n== {size:,} properties ({sum(map(len, records.values())):,} records in all, "
        f"{evaluated:,} evaluations) =="
    )
    print(
        f"baseline  {evaluated / base_time:>12,.0f} records/s  {base_time:7.3f} s  "
        f"included {base_count:,}"
    )
    print(
        f"engine    {evaluated / engine_time:>12,.0f} records/s  {engine_time:7.3f} s  "
        f"included {engine_count:,}"
    )
    print(
        f"plan      {evaluated / plan_time:>12,.0f} records/s  {plan_time:7.3f} s  "
        f"{len(made.operations):,} operations, {len(made.skips):,} skips"
    )  # type: ignore[attr-defined]
    print(
        f"ratio engine/baseline {engine_time / base_time:.2f}x (target <= 2x); "
        f"plan/baseline {plan_time / base_time:.2f}x"
    )
    if engine_count != base_count:
        print(f"WARNING: the engine included {engine_count}, the baseline {base_count}")
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
