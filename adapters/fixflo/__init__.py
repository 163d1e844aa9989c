"""The Fixflo adapter: an async client for Fixflo's API v2.

Reads properties, landlords, tenants, contractors, their links and the agency's settings
(page pagination, keys in any case); reads issues projected to the fields a ruleset
declares, with the parts it asks for (`ISSUE_PARTS`: property, tenant, invoice details,
completion documents and details, certificates, each from its own endpoint); serves their
files (`FixfloDocuments`: the PDF report and Media downloads, one part read per issue);
upserts by external reference. A 200 whose envelope carries ``Errors`` raises
`EnvelopeError`. Webhooks: `FixfloSubscriptions` (subscribe, replace, remove, read the
delivery activity) and the receiver in `adapters.fixflo.webhooks`.

Example::

    import httpx
    from adapters.fixflo import FixfloAdapter, FixfloAuth
    async def main() -> None:
        auth = FixfloAuth("token")
        async with httpx.AsyncClient(base_url="https://acme.fixflo.com/api/v2", auth=auth) as c:
            print(await FixfloAdapter(c).upsert("landlords", {"ExternalRef": "200001"}))
"""

from __future__ import annotations

from adapters.fixflo._adapter import (
    COLLECTIONS,
    REFERENCE_LOOKUPS,
    FixfloAdapter,
    ListEndpoint,
    PartsFor,
)
from adapters.fixflo._auth import FixfloAuth
from adapters.fixflo._documents import FixfloDocuments
from adapters.fixflo._issues import ISSUE_PARTS, PART_NEEDS
from adapters.fixflo._subscriptions import (
    ISSUE_EVENTS,
    WEBHOOK_EVENTS,
    DeliveryFailure,
    FixfloSubscriptions,
    Subscription,
)

__all__ = [
    "COLLECTIONS",
    "ISSUE_EVENTS",
    "ISSUE_PARTS",
    "PART_NEEDS",
    "REFERENCE_LOOKUPS",
    "WEBHOOK_EVENTS",
    "DeliveryFailure",
    "FixfloAdapter",
    "FixfloAuth",
    "FixfloDocuments",
    "FixfloSubscriptions",
    "ListEndpoint",
    "PartsFor",
    "Subscription",
]
