"""What a Fixflo delivery is: its signature, identity, path token, issue id and parse.

The assumptions these encode are the receiver's (`adapters.fixflo.webhooks`): Fixflo
publishes neither the payload nor the signature scheme (contracts/fixflo.md section 8).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any, Final

from adapters._records import ci_get
from adapters.fixflo._subscriptions import ISSUE_ACTIONS
from adapters.http import JSON_DEPTH, nested_deeper_than

__all__ = ["RETRY_AFTER", "Busy", "digest_of", "issue_id_of", "parse", "path_token", "sign"]

RETRY_AFTER: Final = 30  # seconds Fixflo is asked to wait before sending again
_PATH_LABEL: Final = b"rulebridge webhook path"
_SAFE_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")


class Busy(Exception):
    """Raised by a handler that cannot take the delivery now (its queue is full): the
    receiver releases the claim and answers 503 with ``Retry-After: retry_after``.

    Example:
        >>> Busy(30).retry_after
        30
    """

    def __init__(self, retry_after: float = RETRY_AFTER) -> None:
        super().__init__(f"busy: send it again in {retry_after:g} s")
        self.retry_after = retry_after


def path_token(secret: str | bytes) -> str:
    """The path Fixflo posts to under `secret`: 32 hex of HMAC-SHA256(secret, a fixed label),
    so the secret itself never appears in a URL (or Fixflo's Activity, or a proxy's log).

    Example:
        >>> len(path_token("a-secret-of-16-chars")), path_token("x") == path_token("x")
        (32, True)
    """
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, _PATH_LABEL, hashlib.sha256).hexdigest()[:32]


def issue_id_of(action: str, payload: Mapping[str, Any]) -> str | None:
    """The issue a delivery is about, or None (not an Issue event, or no usable id).

    The id is the payload's ``Id``, else ``IssueId``, else ``Issue.Id`` (keys in any case),
    the first present: an int (0 up) or a string of 1 to 64 letters, digits, ``_`` or ``-``
    (it becomes part of a request path, so nothing else is taken).

    Example:
        >>> issue_id_of("Issue closed", {"Id": 1042}), issue_id_of("Issue closed", {"Id": "../x"})
        ('1042', None)
        >>> issue_id_of("Property changed", {"Id": 7}) is None
        True
    """
    if action not in ISSUE_ACTIONS or not isinstance(payload, Mapping):
        return None
    missing = object()
    value = ci_get(payload, "Id", missing)
    if value is missing:
        value = ci_get(payload, "IssueId", missing)
    if value is missing:
        issue = ci_get(payload, "Issue")
        value = ci_get(issue, "Id") if isinstance(issue, Mapping) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if 0 <= value < 1 << 63 else None
    if isinstance(value, str) and _SAFE_ID.fullmatch(value):
        return value
    return None


def sign(body: bytes, secret: str | bytes) -> str:
    """The ``ff-signature`` header value for `body`.

    Example:
        >>> sign(b"{}", "k")[:7]
        'sha256='
    """
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def digest_of(body: bytes) -> str:
    """A delivery's identity: the sha256 of its body as received."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def parse(body: bytes) -> tuple[str, dict[str, Any]] | None:
    """The ``(action, payload)`` of a delivery body, or None when it is not JSON
    ``{action: str, payload: object}`` (or nests deeper than `JSON_DEPTH`)."""
    if nested_deeper_than(body, JSON_DEPTH):  # the parser would recurse past Python's stack
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    action, payload = data.get("action"), data.get("payload")
    if not isinstance(action, str) or not isinstance(payload, dict):
        return None
    return action, payload
