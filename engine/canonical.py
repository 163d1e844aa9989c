"""Canonical JSON and the hashes made from it: one form for every key, hash and fingerprint.

Keys sorted, no spaces, UTF-8 text (not ``\\u`` escapes, as RFC 8785), and values JSON does
not know (dates, decimals) written as their ``str``. The same value always gives the same
text, so the same hash: rulesets' content hashes, records' content hashes, idempotency keys,
migration fingerprints and the store's TEXT columns all use it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["canonical_json", "content_hash"]


def canonical_json(value: Any) -> str:
    """`value` as canonical JSON text.

    Example:
        >>> canonical_json({"b": 1, "a": ["é", None]})
        '{"a":["é",null],"b":1}'
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def content_hash(value: Any, length: int | None = None) -> str:
    """The SHA-256 of `value`'s canonical JSON, in hex (the first `length` digits if given).

    Example:
        >>> content_hash({"b": 1, "a": 2}) == content_hash({"a": 2, "b": 1})
        True
        >>> len(content_hash("x", 24))
        24
    """
    digest = hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
    return digest if length is None else digest[:length]
