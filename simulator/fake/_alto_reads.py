"""The fake Alto's reads: the generated agency behind the contract's list and detail paths.

Each list endpoint pages exactly as ../shared/contracts/alto.md section 1 spells it
(`PAGING`), filters by the parameters the contract gives it, and ignores every other
parameter. Ids of the wrong kind (a tenancy id that is not a number) and ids of nothing are
404s in the endpoint's error shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.ports import Record
from simulator.fake._common import Paging, cursor_page, errors_response, problem

__all__ = ["MAX_CONTACT_IDS", "PAGING", "AltoReads"]

PAGING: Final = {
    "/inventory/filter": Paging("next-token", "max-results", 50, 250),
    "/owners": Paging("next-token", "max-results", 50, 250, errors=True),
    "/contacts/all": Paging("next-token", "max-results", 50, 250, errors=True),
    "/tenancies": Paging("next-token", "max-results", 100, 100, total=True),
    "/suppliers": Paging("nextToken", "maxResults", 100, 100, total=True, errors=True),
    "/inventory/{inventoryId}/tenancies": Paging("nextToken", "maxResults", 100, 100, total=True),
}
# Tenancy (the per-property list's item, contracts/alto.md section 5): no propertyId.
TENANCY_FIELDS: Final = (
    "id", "rent", "currencyCode", "rentalFrequency", "startDate", "endDate",
    "targetVacateDate", "status", "occupantCount", "tenants",
)  # fmt: skip
MAX_CONTACT_IDS: Final = 50
_MODIFIED: Final = ("modifiedAt", "modifiedDate")


def _modified(record: Mapping[str, Any]) -> str:
    for name in _MODIFIED:
        if record.get(name):
            return str(record[name])
    return ""


def _changed(request: Request, items: Iterable[Record]) -> list[Record]:
    """`items` within ``modified-from``/``modified-to`` (the kebab-case date filters)."""
    low, high = request.query_params.get("modified-from"), request.query_params.get("modified-to")
    return [
        item
        for item in items
        if (not low or _modified(item) >= low) and (not high or _modified(item) <= high)
    ]


def _flag(request: Request, name: str) -> bool | None:
    value = request.query_params.get(name)
    return None if value is None else value.strip().lower() == "true"


def _flagged(request: Request, name: str, items: list[Record]) -> list[Record]:
    """`items` whose field `name` is the query's boolean `name`, all when it is not asked
    (an item that is not an object is kept, for the client to report)."""
    wanted = _flag(request, name)
    return [r for r in items if wanted is None or not isinstance(r, dict) or r.get(name) == wanted]


class AltoReads:
    """Serves one agency's records; `contacts` is everything ``/contacts/all`` holds.

    Args:
        world: the snapshot collections (inventory, owners, tenancies, suppliers...).
        contacts: every ContactListItem, suppliers' contacts included.
        details: every Contact, by id.
        tenant_ids: each tenancy's ``tenantIds`` items, by tenancy id.
        held: the tenancies as a lifecycle Alto world holds them (tenancy id ->
            ``{"propertyId", "startDate", "places"}``): the per-property list and the
            ``tenantIds`` of a tenancy the generated agency lacks come from here.
    """

    def __init__(
        self,
        world: Mapping[str, list[Record]],
        contacts: list[Record],
        details: Mapping[str, Record],
        tenant_ids: Mapping[int, list[Record]],
        held: Mapping[str, Record],
    ) -> None:
        self.world, self.contacts, self.details, self.tenant_ids = (
            world,
            contacts,
            details,
            tenant_ids,
        )
        self.held = held
        self.listed = {str(t["id"]): t for t in world["tenancies"] if isinstance(t, dict)}

    async def inventory(self, request: Request) -> Response:
        """``GET /inventory/filter``: archived and not, unless ``archived`` is given."""
        items = _flagged(request, "archived", _changed(request, self.world["inventory"]))
        return cursor_page(request, items, PAGING["/inventory/filter"])

    async def owners(self, request: Request) -> Response:
        """``GET /owners``, optionally by ``active``."""
        items = _flagged(request, "active", _changed(request, self.world["owners"]))
        return cursor_page(request, items, PAGING["/owners"])

    async def all_contacts(self, request: Request) -> Response:
        """``GET /contacts/all``: by ``category`` (one) and ``persona`` (any of, within
        Client) and ``active``."""
        category = request.query_params.get("category")
        personas = set(request.query_params.getlist("persona"))
        active = _flag(request, "active")
        items = [
            c for c in _changed(request, self.contacts) if _matches(c, category, personas, active)
        ]
        return cursor_page(request, items, PAGING["/contacts/all"])

    async def contacts_by_id(self, request: Request) -> Response:
        """``GET /contacts?id=&id=``: up to 50 Contacts by id. The contract types the answer
        as one Contact; for several ids whether it is an array is UNCONFIRMED: this fake
        answers one object for one id and an array (of those found, in the order asked)
        for several."""
        ids = request.query_params.getlist("id")
        if not ids:
            return errors_response(400, "id is required")
        if len(ids) > MAX_CONTACT_IDS:
            return errors_response(400, f"at most {MAX_CONTACT_IDS} ids may be asked for at once")
        found = [self.details[i] for i in ids if i in self.details]
        if len(ids) == 1:
            if not found:
                return errors_response(404, "Contact not found", "NotFound")
            return JSONResponse(found[0])
        return JSONResponse(found)

    async def contact(self, request: Request) -> Response:
        """``GET /contacts/{contactId}``."""
        found = self.details.get(request.path_params["contactId"])
        if found is None:
            return errors_response(404, "Contact not found", "NotFound")
        return JSONResponse(found)

    async def tenancies(self, request: Request) -> Response:
        """``GET /tenancies``: tenants only with ``include-tenants=true``."""
        items = _changed(request, self.world["tenancies"])
        if not _flag(request, "include-tenants"):
            items = [_without_tenants(t) for t in items]
        return cursor_page(request, items, PAGING["/tenancies"])

    async def tenancy_tenant_ids(self, request: Request) -> Response:
        """``GET /tenancies/{tenancyId}/tenantIds`` (an ItemCollection, not paged)."""
        key = request.path_params["tenancyId"]
        items = self.tenant_ids.get(int(key)) if key.isdigit() else None
        if items is None and key in self.held:
            items = [
                {"tenantId": _int(p.get("tenantId")), "contactId": _int(p.get("contactId"))}
                for p in self.held[key].get("places") or []
            ]
        if items is None:
            return problem(404, "Not Found", "no such tenancy")
        return JSONResponse({"totalCount": len(items), "items": items})

    async def property_tenancies(self, request: Request) -> Response:
        """``GET /inventory/{inventoryId}/tenancies``: the property's tenancies (Tenancy:
        no ``propertyId``), camelCase paging; a property with none gets an empty page."""
        wanted = request.path_params["inventoryId"]
        items = [
            self._tenancy(key, held)
            for key, held in self.held.items()
            if str(held.get("propertyId")) == wanted
        ]
        return cursor_page(request, items, PAGING["/inventory/{inventoryId}/tenancies"])

    def _tenancy(self, key: str, held: Mapping[str, Any]) -> Record:
        listed = self.listed.get(key)
        if listed is not None:
            return {name: listed[name] for name in TENANCY_FIELDS if name in listed}
        places = held.get("places") or []
        return {"id": _int(key), "startDate": held.get("startDate"), "occupantCount": len(places)}

    async def suppliers(self, request: Request) -> Response:
        """``GET /suppliers`` (no filters)."""
        return cursor_page(request, self.world["suppliers"], PAGING["/suppliers"])


def _matches(contact: Any, category: str | None, personas: set[str], active: bool | None) -> bool:
    if not isinstance(contact, dict):
        return True  # a damaged record (a test's) is served as it is
    kind = contact.get("contactType") or {}
    if category and kind.get("category") != category:
        return False
    client = kind.get("category") == "Client"
    if personas and client and not personas & set(kind.get("persona") or ()):
        return False
    return active is None or contact.get("isActive") == active


def _without_tenants(tenancy: Any) -> Any:
    if not isinstance(tenancy, dict):
        return tenancy
    return {key: value for key, value in tenancy.items() if key != "tenants"}


def _int(value: Any) -> Any:
    """An id as the contract's int32 when it is digits (a test world's ``TT1`` stays text)."""
    text = str(value)
    return int(text) if text.isdigit() else value
