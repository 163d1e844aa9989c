"""How each Alto snapshot collection is read, endpoint by endpoint, as the contract spells it.

- inventory: ``GET /inventory/filter`` (``next-token``/``max-results`` up to 250), no
  filter: archived properties too, so one that stops qualifying is still seen.
- owners: ``GET /owners`` (``next-token``/``max-results`` up to 250).
- contacts: ``GET /contacts/all?category=Client&persona=Landlord&persona=Tenant``, then
  ``?category=Supplier`` (``next-token``/``max-results`` up to 250), de-duplicated by id.
- contact_details: ``GET /contacts?id=..`` for the listed Client contacts, 50 ids a call;
  the contract types the answer as one Contact and leaves an array for several ids
  UNCONFIRMED, so an object and an array are both read.
- tenancies: ``GET /tenancies?include-tenants=true`` (``next-token``/``max-results`` up to
  100; without the flag Alto leaves the tenants out).
- tenancy_tenants: ``GET /tenancies/{tenancyId}/tenantIds`` for each listed tenancy, each
  item with the ``tenancyId`` it was read under (the one key rulebridge adds).
- suppliers: ``GET /suppliers`` (``nextToken``/``maxResults`` up to 100; no filters, so
  it is read whole even when only changes are asked for).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

__all__ = ["CLIENT_PERSONAS", "CONTACT_BATCH", "LISTS", "AltoList", "batches"]

CONTACT_BATCH: Final = 50
CLIENT_PERSONAS: Final = ("Landlord", "Tenant")


@dataclass(frozen=True, slots=True)
class AltoList:
    """One Alto list endpoint: its path, paging names, largest page and fixed parameters."""

    path: str
    token_key: str
    size_key: str
    largest: int
    params: tuple[tuple[str, str], ...] = ()
    since_key: str | None = "modified-from"

    def query(self, since: str | None) -> list[tuple[str, str]]:
        """The fixed parameters, and the date filter when only changes are wanted."""
        changed = [(self.since_key, since)] if since and self.since_key else []
        return [*self.params, *changed]


_DASHED: Final = ("next-token", "max-results")
LISTS: Final = {
    "inventory": AltoList("/inventory/filter", *_DASHED, 250),
    "owners": AltoList("/owners", *_DASHED, 250),
    "clients": AltoList(
        "/contacts/all",
        *_DASHED,
        250,
        (("category", "Client"), *(("persona", p) for p in CLIENT_PERSONAS)),
    ),
    "supplier_contacts": AltoList("/contacts/all", *_DASHED, 250, (("category", "Supplier"),)),
    "tenancies": AltoList("/tenancies", *_DASHED, 100, (("include-tenants", "true"),)),
    "suppliers": AltoList("/suppliers", "nextToken", "maxResults", 100, since_key=None),
}


def batches(ids: Sequence[str], size: int = CONTACT_BATCH) -> Iterator[list[str]]:
    """`ids` in runs of at most `size`.

    Example:
        >>> [len(b) for b in batches([str(n) for n in range(120)])]
        [50, 50, 20]
    """
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])
