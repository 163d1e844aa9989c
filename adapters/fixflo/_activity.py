"""Fixflo's webhook Activity items (``GET /Webhook/Activity``) read without personal data.

A WebhookDeliveryItem is ``{id, WebHookUrl, SendTime, Failed, FailureMessage,
ResponseStatus, RequestBody, ResponseBody}`` (contracts/fixflo.md section 8; ``Failed`` is
text). Of ``RequestBody`` only an ``action`` that is a documented event name is kept;
``ResponseBody`` and ``WebHookUrl`` are never read; ``FailureMessage`` is scrubbed of emails,
phone numbers and secrets and cut short.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from adapters._records import ci_get
from adapters.errors import ProtocolError, redact
from adapters.http import JSON_DEPTH, nested_deeper_than

__all__ = ["ACTIVITY", "DeliveryFailure", "activity_items", "failure", "last_page"]

ACTIVITY: Final = "/Webhook/Activity"
WEBHOOK_EVENTS: Final = (
    "Property changed",
    "Property added",
    "Property deactivated",
    "Issue state change",
    "Issue add",
    "Job invoice updated",
    "Issue closed",
)
"""Fixflo's WebhookEvent enum, spelled exactly as the contract does (spaces included)."""
_MESSAGE_CHARS: Final = 200
_BODY_CHARS: Final = 1 << 20  # a RequestBody longer than a delivery may be is not read
_STATUS: Final = re.compile(r"\s*(\d{3})\b")


@dataclass(frozen=True, slots=True)
class DeliveryFailure:
    """One delivery attempt of `FixfloSubscriptions.activity`, without personal data.

    Attributes:
        send_time: when Fixflo sent it (UTC; a time sent without a zone is read as UTC).
        status: the HTTP status our side answered (``ResponseStatus``), None without one
            (no answer: the connection failed).
        message: Fixflo's ``FailureMessage``, scrubbed of emails, phones and secrets and cut
            to 200 characters ("" without one).
        event: the delivery's event name when its ``RequestBody`` names a documented one,
            else None (nothing else of the body is read).
        failed: Fixflo's ``Failed`` ("true"/"false" as text in the contract).
    """

    send_time: datetime
    status: int | None
    message: str
    event: str | None
    failed: bool = True


def activity_items(body: Any) -> list[Any]:
    items = ci_get(body, "Items") if isinstance(body, Mapping) else body
    if not isinstance(items, list):
        raise ProtocolError("the activity page has no Items", method="GET", path=ACTIVITY)
    return items


def last_page(body: Any, page: int) -> bool:
    pages = ci_get(body, "TotalPages") if isinstance(body, Mapping) else None
    return isinstance(pages, int) and not isinstance(pages, bool) and page >= pages


def failure(item: Any, page: int, index: int) -> DeliveryFailure:
    """One WebhookDeliveryItem as a `DeliveryFailure`, reading nothing personal."""
    where = f"activity item {index} of page {page}"
    if not isinstance(item, Mapping):
        raise ProtocolError(f"{where} is not an object", method="GET", path=ACTIVITY)
    sent = _time(ci_get(item, "SendTime"))
    if sent is None:
        raise ProtocolError(f"{where} has no readable SendTime", method="GET", path=ACTIVITY)
    message = ci_get(item, "FailureMessage")
    return DeliveryFailure(
        send_time=sent,
        status=_status(ci_get(item, "ResponseStatus")),
        message=redact(str(message))[:_MESSAGE_CHARS] if message else "",
        event=_event(ci_get(item, "RequestBody")),
        failed=str(ci_get(item, "Failed")).strip().casefold() == "true",
    )


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _status(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 100 <= value <= 599 else None
    match = _STATUS.match(value) if isinstance(value, str) else None
    return int(match.group(1)) if match else None


def _event(body: Any) -> str | None:
    """The documented event a RequestBody names in ``action``; nothing else is read."""
    if not isinstance(body, str) or len(body) > _BODY_CHARS:
        return None
    if nested_deeper_than(body.encode(), JSON_DEPTH):
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    action = data.get("action") if isinstance(data, dict) else None
    return action if action in WEBHOOK_EVENTS else None
