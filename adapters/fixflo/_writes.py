"""Fixflo writes on its published contract: look up, then save by id or create once.

- properties: ``GET /Property?ExternalPropertyRef=``; found: ``POST /Property`` with its
  ``id`` (Fixflo keeps the old address on this call) and, when the address differs,
  ``POST /Property/UpdateAddress``; not found: ``POST /Property`` with ``id`` 0. Fixflo may
  answer a create with an existing property of the same address: one without a reference is
  merged (G-05: it is saved again with the reference), one bearing another is a
  `ConflictError`.
- tenants: ``GET /Tenant?ExternalRef=``; landlords and contractors have no documented lookup
  by reference: ``GET /Landlords?Keyword=REF`` / ``GET /Contractors?Keyword=REF``, keeping
  only an exact ExternalRef match. Then ``POST`` with the id, or without it to create.
- a create is never sent again blindly: after a lost answer it is looked up first
  (`adapters.http.Caller.write_once`); a contractor posted without ``Id`` always creates.
- links: ``POST /LandlordPropertyJoin`` and ``POST /Tenant/{Id}/Property``; unlinks:
  ``POST /LandlordPropertyJoin/Delete`` and ``DELETE /Tenant/{Id}/Property/{PropertyId}``.
- every write answered 200 with a non-empty ``Errors`` is an `EnvelopeError`.

The fields a write is given may name the record's Fixflo id under ``Id`` or ``id`` (the
engine's payload names it by the target's key); it is sent under the vendor's own key.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

import httpx

from adapters._paging import fixflo_pages
from adapters._records import normalise
from adapters.errors import ConflictError, EnvelopeError, NotFoundError, ProtocolError, redact
from adapters.http import Caller, decode_json
from engine.ports import Record

__all__ = ["FixfloWriter"]

log = logging.getLogger("rulebridge.adapters")

# Each collection's write path, the id key its body uses and whether that id is text.
_SAVE: Final = {
    "properties": ("/Property", "id", False),
    "tenants": ("/Tenant", "id", True),
    "landlords": ("/Landlord", "id", True),
    "contractors": ("/Contractor", "Id", True),
}
_REF: Final = {
    "properties": "ExternalPropertyRef",
    "tenants": "ExternalRef",
    "landlords": "ExternalRef",
    "contractors": "ExternalRef",
}
_SEARCH: Final = {"landlords": ("/Landlords", "pg"), "contractors": ("/Contractors", "Pg")}
_GET: Final = {"properties": "/Property", "tenants": "/Tenant"}


class FixfloWriter:
    """The writes of `adapters.fixflo.FixfloAdapter` through its `Caller`."""

    def __init__(self, caller: Caller) -> None:
        self._caller = caller

    # -- lookups -------------------------------------------------------------------------

    async def lookup(self, collection: str, key: str, value: str) -> Record | None:
        """The record whose `key` is `value`, by the lookup the contract offers, or None.

        ``GET /Property`` (``Id``, ``ExternalPropertyRef``) and ``GET /Tenant`` (``Id``,
        ``EmailAddress``, ``ExternalRef``) answer directly; landlords and contractors are
        searched by ``Keyword`` and an exact match kept (``ExternalRef``, ``EmailAddress``).
        A record that does not carry the value asked for is no match.

        Raises:
            KeyError: the contract offers no lookup of `collection` by `key`.
        """
        if collection in _GET:
            return await self._get(collection, key, value)
        if collection not in _SEARCH or key not in ("ExternalRef", "EmailAddress"):
            raise KeyError(f"Fixflo offers no lookup of {collection} by {key}")
        path, page_key = _SEARCH[collection]
        items = fixflo_pages(
            self._caller, path, {"Keyword": value}, page_key=page_key, size_key=None, page_size=0
        )
        async for item in items:
            if isinstance(item, Mapping) and _same(key, item.get(key), value):
                return normalise("fixflo", collection, item)
        return None

    async def _get(self, collection: str, key: str, value: str) -> Record | None:
        try:
            body = await self._caller.json("GET", _GET[collection], params={key: value})
        except NotFoundError:
            return None
        if not isinstance(body, Mapping):
            return None
        record = normalise("fixflo", collection, body)
        held = record.get("id") if key == "Id" else record.get(key)
        return record if _same(key, held, value) else None

    # -- upserts -------------------------------------------------------------------------

    async def upsert(self, collection: str, fields: Mapping[str, Any]) -> Record:
        """Create or update one record, found by its id or external reference."""
        if collection == "properties":
            return await self._property(fields)
        path, id_key, _ = _SAVE[collection]
        given, body = _split_id(fields)
        ref = body.get(_REF[collection])
        if given is None and ref:
            found = await self.lookup(collection, _REF[collection], str(ref))
            given = _id(collection, found) if found else None
        if given is not None:
            return await self._save(collection, path, {id_key: str(given), **body})
        return await self._create(collection, path, body, ref)

    async def _property(self, fields: Mapping[str, Any]) -> Record:
        given, body = _split_id(fields)
        ref = body.get("ExternalPropertyRef")
        found = None
        if given is not None:
            found = await self.lookup("properties", "Id", str(given))
        elif ref:
            found = await self.lookup("properties", "ExternalPropertyRef", str(ref))
        if found is None and given is not None:
            raise NotFoundError(
                f"no property with id {given}", method="GET", path="/Property", status=404
            )
        if found is None:
            created = await self._create("properties", "/Property", {"id": 0, **body}, ref)
            return await self._merged(created, body, ref)
        return await self._update_property(found, body)

    async def _update_property(self, found: Record, body: Mapping[str, Any]) -> Record:
        number = found["id"]
        rest = {k: v for k, v in body.items() if k != "Address"}
        record = found
        if rest:
            record = await self._save("properties", "/Property", {"id": number, **rest})
        address = body.get("Address")
        if isinstance(address, Mapping) and _differs(address, found.get("Address")):
            ref = body.get("ExternalPropertyRef") or found.get("ExternalPropertyRef")
            move = {"id": number, "ExternalPropertyRef": ref, "Address": dict(address)}
            record = await self._save("properties", "/Property/UpdateAddress", move)
        return record

    async def _merged(self, created: Record, body: Mapping[str, Any], ref: Any) -> Record:
        """A create Fixflo answered with a property it held at that address (G-05)."""
        held = created.get("ExternalPropertyRef")
        if not ref or held == ref:
            return created
        if held:
            raise ConflictError(
                f"Fixflo holds property {created.get('id')} at this address under "
                f"ExternalPropertyRef {held}, not {ref}: two Alto properties share the "
                "address; merge or correct them by hand",
                method="POST",
                path="/Property",
                status=200,
            )
        log.info("Fixflo merged the new property into %s at the same address", created.get("id"))
        rest = {k: v for k, v in body.items() if k != "Address"}
        return await self._save("properties", "/Property", {"id": created["id"], **rest})

    async def _save(self, collection: str, path: str, body: Mapping[str, Any]) -> Record:
        """A write naming its record by id: the same write twice changes nothing."""
        response = await self._caller.send("POST", path, json=dict(body), idempotent=True)
        return self._entity(collection, response, path)

    async def _create(
        self, collection: str, path: str, body: Mapping[str, Any], ref: Any
    ) -> Record:
        """A create, never sent again blindly: after a lost answer the record is looked up
        by its reference first (without one, it is sent once)."""

        async def find() -> Record | None:
            return await self.lookup(collection, _REF[collection], str(ref)) if ref else None

        if not ref:
            response = await self._caller.send("POST", path, json=dict(body), idempotent=False)
            return self._entity(collection, response, path)
        return await self._caller.write_once(
            "POST",
            path,
            find=find,
            read=lambda response: self._entity(collection, response, path),
            json=dict(body),
        )

    def _entity(self, collection: str, response: httpx.Response, path: str) -> Record:
        entity = self.envelope(response, "POST", path).get("Entity")
        if not isinstance(entity, Mapping):
            raise ProtocolError("the envelope holds no Entity", method="POST", path=path)
        return normalise("fixflo", collection, entity)

    def envelope(self, response: httpx.Response, method: str, path: str) -> Mapping[str, Any]:
        """The write's envelope; a non-empty ``Errors`` is a refusal.

        Raises:
            EnvelopeError: Fixflo answered but listed Errors (the write did not happen).
            ProtocolError: the answer is not an envelope.
        """
        body = decode_json(response, path, max_depth=self._caller.limits.json_depth)
        if not isinstance(body, Mapping):
            raise ProtocolError("the answer is not an envelope", method=method, path=path)
        errors = body.get("Errors")
        if errors:
            raise EnvelopeError(
                "Fixflo answered 200 but refused the write",
                method=method,
                path=path,
                status=response.status_code,
                excerpt=redact(str(errors), self._caller.secrets),
            )
        return body

    # -- links ---------------------------------------------------------------------------

    async def link(self, collection: str, fields: Mapping[str, Any]) -> None:
        """Join a landlord or a tenant to a property by their external references."""
        if collection == "landlord_properties":
            body = _pick(fields, "ExternalLandlordRef", "ExternalPropertyRef", "IsPrimaryLandlord")
            await self._post("/LandlordPropertyJoin", body)
            return
        _links_only(collection)
        tenant = await self._tenant(fields)
        if tenant is None:
            ref = fields.get("TenantExternalRef") or "(none given)"
            raise NotFoundError(
                f"no tenant with ExternalRef {ref}", method="GET", path="/Tenant", status=404
            )
        link = {
            "PropertyExternalRef": fields.get("PropertyExternalRef"),
            "LinkType": fields.get("LinkType") or "Tenant",
        }
        await self._post(f"/Tenant/{tenant['id']}/Property", link)

    async def unlink(self, collection: str, fields: Mapping[str, Any]) -> None:
        """Remove one link (named as `link` names it); a link that is not there is done."""
        if collection == "landlord_properties":
            await self._unjoin(_pick(fields, "ExternalLandlordRef", "ExternalPropertyRef"))
            return
        _links_only(collection)
        tenant = await self._tenant(fields)
        ref = str(fields.get("PropertyExternalRef") or "")
        prop = await self.lookup("properties", "ExternalPropertyRef", ref) if ref else None
        if tenant is None or prop is None:
            log.info("no such tenant or property in Fixflo: nothing to unlink")
            return
        path = f"/Tenant/{tenant['id']}/Property/{prop['id']}"
        await self._caller.send("DELETE", path, idempotent=True)

    async def _unjoin(self, body: Mapping[str, Any]) -> None:
        try:
            await self._post("/LandlordPropertyJoin/Delete", body)
        except EnvelopeError:
            query = {
                "ExternalPropertyRef": str(body.get("ExternalPropertyRef")),
                "ExtrernalLandlordref": str(body.get("ExternalLandlordRef")),  # [sic] as spec
            }
            try:
                await self._caller.json("GET", "/LandlordPropertyJoin", params=query)
            except NotFoundError:
                return  # already gone (an earlier attempt whose answer was lost removed it)
            raise

    async def _tenant(self, fields: Mapping[str, Any]) -> Record | None:
        ref = str(fields.get("TenantExternalRef") or "")
        return await self.lookup("tenants", "ExternalRef", ref) if ref else None

    async def _post(self, path: str, body: Mapping[str, Any]) -> None:
        response = await self._caller.send("POST", path, json=dict(body), idempotent=True)
        self.envelope(response, "POST", path)


def _split_id(fields: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The Fixflo id the fields name (``Id`` or ``id``; None when empty), and the rest."""
    given = fields.get("Id", fields.get("id"))
    rest = {k: v for k, v in fields.items() if k not in ("Id", "id")}
    return (given if given not in (None, "", 0, "0") else None), rest


def _id(collection: str, record: Mapping[str, Any]) -> Any:
    return record.get(_SAVE[collection][1])


def _same(key: str, held: Any, value: str) -> bool:
    if held is None:
        return False
    if key == "EmailAddress":
        return str(held).casefold() == value.casefold()
    return str(held) == value


def _differs(wanted: Mapping[str, Any], held: Any) -> bool:
    """Whether the address asked for differs from the one Fixflo holds (on the parts asked)."""
    current = held if isinstance(held, Mapping) else {}
    return any((current.get(key) or None) != (value or None) for key, value in wanted.items())


def _pick(fields: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {key: fields[key] for key in keys if key in fields}


def _links_only(collection: str) -> None:
    if collection != "tenant_properties":
        raise ValueError(f"no links in {collection!r}")
