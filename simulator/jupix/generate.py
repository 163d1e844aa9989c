"""A seeded generator of realistic Jupix exports, in the format `adapters.jupix` reads.

Every property follows one of the scenarios below, which between them exercise every J-rule
of REQUIREMENTS.md: properties at every kind of status (archived too) with an active
tenancy, a Proposed tenancy or an application that becomes one (J-04, J-05), Sold STC / Under
Offer / Exchanged with and without offers or a current sale (J-06), archived properties with
media (J-07), tenancies in every status with renewal chains and stale "Active" ones (J-03,
J-17), applications at every stage (J-04), and so on. The first properties take each
scenario once, so even a small export covers them all; later ones are drawn by weight.
Around the properties: applicants with past, future and no expiry and duplicates that
should merge, a contact whose every profile lapsed and one with a lapsed and a live
profile (J-01, J-02), notes of every kind (J-08..J-10, J-14), estate agents owning
properties (J-11), suppliers who are also owners or applicants (J-12).

Rows are written as they are made, so memory stays flat whatever the size.
"""

from __future__ import annotations

import os
import random
from datetime import datetime, timedelta
from pathlib import Path

from adapters.jupix.manifest import Manifest, write_manifest
from simulator.jupix import _names as names
from simulator.jupix._agency import Agency, Draft, Scenario, add_months
from simulator.jupix._sink import ExportSink

__all__ = ["EXPORTED_AT", "SCENARIOS", "Scenario", "write_jupix_export"]

EXPORTED_AT = datetime(2025, 6, 1, 18, 0)
"""When generated exports say they were taken, unless told otherwise."""


def write_jupix_export(
    out_dir: str | os.PathLike[str],
    size: int,
    seed: int,
    *,
    agency: str | None = None,
    exported_at: datetime = EXPORTED_AT,
) -> Manifest:
    """Write a Jupix export of `size` properties to `out_dir`; the same seed, the same bytes.

    Args:
        out_dir: The folder to write (created if needed; files in it are overwritten).
        size: The number of properties; the other tables scale with it.
        seed: Seeds every random choice.
        agency: The agency's name for the manifest (made up from the seed if None).
        exported_at: When the export says it was taken; dates are relative to it.

    Returns:
        The manifest, written last.

    Example::

        manifest = write_jupix_export("/tmp/acme", size=200, seed=7)
        sorted(manifest.files)[:2]
        # ['applicants.csv', 'contacts.csv']
    """
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)  # noqa: S311 -- seeded simulation, not security
    name = agency or f"{rng.choice(names.SURNAMES)} & {rng.choice(names.SURNAMES)} Estate Agents"
    with ExportSink(folder) as sink:
        world = Agency(sink, rng, exported_at.date(), size)
        for index in range(size):
            draw = index >= len(SCENARIOS)  # the first properties take each scenario once
            world.add_property(rng.choices(SCENARIOS, _WEIGHTS)[0] if draw else SCENARIOS[index])
    return write_manifest(folder, agency=name, exported_at=exported_at)


# -- scenario builders (lettings) -----------------------------------------------------------


def _let_active(a: Agency, d: Draft) -> None:
    if a.rng.random() < 0.4:
        a.history(d, a.rng.randint(1, 2))
    a.tenancy(d, "Active", a.ago(30, 330))


def _on_market_vacant(a: Agency, d: Draft) -> None:
    a.history(d, a.rng.randint(0, 2))
    for _ in range(a.rng.randint(1, 3)):
        a.application(d, "Offer Pending")
    for _ in range(a.rng.randint(0, 2)):
        a.application(d, a.rng.choice(("Rejected", "Withdrawn")))


def _renewed_chain(a: Agency, d: Draft) -> None:
    links = a.rng.randint(2, 3)
    last = a.ago(30, 300)
    starts = [add_months(last, -12 * step) for step in range(links - 1, -1, -1)]
    previous, tenants = None, None
    for index, start in enumerate(starts):
        status = "Active" if index == links - 1 else "Renewed"
        previous, tenants = a.tenancy(d, status, start, tenants=tenants, renewed_from=previous)


def _periodic(a: Agency, d: Draft) -> None:
    start = a.ago(400, 1500)
    a.tenancy(d, "Active - Periodic", start, end=None if a.rng.random() < 0.5 else "term")


def _stale_active(a: Agency, d: Draft) -> None:
    a.tenancy(d, "Active", a.ago(420, 900))


def _proposed_row(a: Agency, d: Draft) -> None:
    """A Proposed tenancy (J-04: migrates as an active tenancy) on a property still marketed."""
    a.history(d, a.rng.randint(0, 1))
    tenant = a.people.new_applicant("Lettings")
    a.application(d, "Proposed Tenancy", tenant)
    a.tenancy(d, "Proposed", a.today + timedelta(days=a.rng.randint(5, 40)), tenants=[tenant])


def _proposed_application(a: Agency, d: Draft) -> None:
    """An application at Proposed Tenancy or Referencing with no Proposed row: the
    application itself becomes the Alto active tenancy (J-04), so the property is Let."""
    a.history(d, a.rng.randint(0, 1))
    a.application(d, a.rng.choice(("Proposed Tenancy", "Referencing")))
    if a.rng.random() < 0.5:
        a.application(d, "Offer Pending")


def _let_agreed(a: Agency, d: Draft) -> None:
    stage = a.rng.choice(("Proposed Tenancy", "Proposed Tenancy", "Referencing", "Offer Accepted"))
    tenant = a.people.new_applicant("Lettings")
    a.application(d, stage, tenant)
    if stage == "Proposed Tenancy":
        a.tenancy(d, "Proposed", a.today + timedelta(days=a.rng.randint(5, 40)), tenants=[tenant])
    if a.rng.random() < 0.5:
        a.application(d, "Offer Pending")


def _cancelled(a: Agency, d: Draft) -> None:
    a.tenancy(d, "Cancelled", a.today + timedelta(days=a.rng.randint(5, 40)))
    a.application(d, "Withdrawn")


def _lettings_history(a: Agency, d: Draft) -> None:
    a.history(d, a.rng.randint(0, 2))


# -- scenario builders (sales) --------------------------------------------------------------


def _for_sale(a: Agency, d: Draft) -> None:
    for _ in range(a.rng.randint(0, 3)):
        a.offer(d, a.rng.choice(("Pending", "Rejected", "Withdrawn")))


def _sold_stc(a: Agency, d: Draft) -> None:
    if a.rng.random() < 0.3:
        a.offer(d, "Rejected")
    a.sale(d, "Current", a.offer(d, "Accepted"), a.rng.randint(1, 9))


def _sold_stc_bare(a: Agency, d: Draft) -> None:
    if a.rng.random() < 0.5:
        a.offer(d, "Withdrawn")


def _under_offer(a: Agency, d: Draft) -> None:
    a.offer(d, "Pending")


def _under_offer_rejected(a: Agency, d: Draft) -> None:
    for _ in range(a.rng.randint(1, 2)):
        a.offer(d, a.rng.choice(("Rejected", "Withdrawn")))


def _exchanged(a: Agency, d: Draft) -> None:
    a.sale(d, "Current", a.offer(d, "Accepted"), 11)


def _exchanged_fallen(a: Agency, d: Draft) -> None:
    buyer = a.offer(d, "Rejected")
    a.sale(d, "FallenThrough", buyer, a.rng.randint(2, 8))


def _completed(a: Agency, d: Draft) -> None:
    a.sale(d, "Completed", a.offer(d, "Accepted"), len(names.MILESTONES))


def _nothing(a: Agency, d: Draft) -> None:
    """No rows around the property (valuations, withdrawn sales)."""


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("let-active", "Lettings", "Let", 20, _let_active),
    Scenario("on-market-with-active-tenancy", "Lettings", "Instructed - On Market", 5, _let_active),
    Scenario("on-market-vacant", "Lettings", "Instructed - On Market", 10, _on_market_vacant),
    Scenario("renewed-chain", "Lettings", "Let", 8, _renewed_chain),
    Scenario("periodic", "Lettings", "Let", 6, _periodic),
    Scenario("stale-active", "Lettings", "Let", 5, _stale_active),
    Scenario("let-agreed", "Lettings", "Let Agreed", 6, _let_agreed),
    Scenario("cancelled", "Lettings", "Instructed - On Market", 2, _cancelled),
    Scenario("lettings-withdrawn", "Lettings", "Withdrawn", 3, _lettings_history, archived=0.4),
    Scenario("lettings-archived", "Lettings", "Archived", 4, _lettings_history, archived=1.0),
    Scenario("lettings-valuation", "Lettings", "Valuation", 2, _nothing),
    Scenario("for-sale", "Sales", "Instructed - On Market", 15, _for_sale),
    Scenario("sold-stc", "Sales", "Sold STC", 8, _sold_stc),
    Scenario("sold-stc-bare", "Sales", "Sold STC", 3, _sold_stc_bare),
    Scenario("under-offer", "Sales", "Under Offer", 4, _under_offer),
    Scenario("under-offer-rejected", "Sales", "Under Offer", 3, _under_offer_rejected),
    Scenario("exchanged", "Sales", "Exchanged", 3, _exchanged),
    Scenario("exchanged-fallen-through", "Sales", "Exchanged", 2, _exchanged_fallen),
    Scenario("completed", "Sales", "Completed", 4, _completed, archived=0.3),
    Scenario("sales-valuation", "Sales", "Valuation", 2, _nothing),
    Scenario("sales-withdrawn", "Sales", "Withdrawn", 2, _nothing, archived=0.4),
    Scenario("sales-archived", "Sales", "Archived", 3, _for_sale, archived=1.0),
    # J-05 in general: an active tenancy whatever the status (each migrates as Let)
    Scenario("valuation-with-active-tenancy", "Lettings", "Valuation", 1, _let_active),
    Scenario("let-agreed-with-active-tenancy", "Lettings", "Let Agreed", 1, _let_active),
    Scenario("withdrawn-with-active-tenancy", "Lettings", "Withdrawn", 1, _let_active),
    Scenario("under-offer-with-active-tenancy", "Lettings", "Under Offer", 1, _let_active),
    Scenario("archived-with-active-tenancy", "Lettings", "Let", 1, _let_active, archived=1.0),
    Scenario("on-market-proposed-tenancy", "Lettings", "Instructed - On Market", 1, _proposed_row),
    Scenario(
        "on-market-proposed-application",
        "Lettings",
        "Instructed - On Market",
        1,
        _proposed_application,
    ),
)
"""Every kind of property the generator makes; the first `len(SCENARIOS)` take one each."""

_WEIGHTS = [scenario.weight for scenario in SCENARIOS]
