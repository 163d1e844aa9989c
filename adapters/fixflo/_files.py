"""Files Fixflo sends inside JSON: base64 ``EncodedByteData`` decoded at the boundary.

A body that is not base64 is a `ProtocolError` naming the issue and the document, never a
`binascii.Error` from deep inside a run.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, Final

from adapters._records import ci_get
from adapters.errors import ProtocolError
from engine.ports import Attachment, Record

__all__ = ["decode_bytes", "decode_completion_documents", "decode_invoice"]

_BYTES: Final = "EncodedByteData"
_PDF: Final = "application/pdf"
_REPLACED: Final = frozenset({"encodedbytedata", "document"})


def decode_bytes(encoded: Any, *, what: str, path: str) -> bytes:
    """The bytes of a base64 text (line breaks allowed), or a ProtocolError about `what`.

    Example:
        >>> decode_bytes("JVBERg==", what="invoice of issue 1", path="/issue/1/invoicedetails")
        b'%PDF'
    """
    if not isinstance(encoded, str):
        raise ProtocolError(f"{what} has no {_BYTES} text", method="GET", path=path)
    try:
        return base64.b64decode("".join(encoded.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProtocolError(
            f"{what} is not valid base64 in {_BYTES}; Fixflo sent a damaged file",
            method="GET",
            path=path,
        ) from exc


def decode_invoice(issue_id: str, body: Any, path: str) -> Record:
    """An invoice body with its bytes decoded under ``content`` and its file named."""
    if not isinstance(body, Mapping):
        raise ProtocolError("the invoice is not a JSON object", method="GET", path=path)
    encoded = ci_get(body, _BYTES)
    content = (
        None
        if encoded in (None, "")
        else decode_bytes(encoded, what=f"the invoice of issue {issue_id}", path=path)
    )
    name = ci_get(body, "Document")
    if not name and content is not None:
        name = f"invoice-{ci_get(body, 'InvoiceNumber')}.pdf"
    record = {key: value for key, value in body.items() if str(key).casefold() not in _REPLACED}
    return record | {"Document": name or None, "content": content}


def decode_completion_documents(issue_id: str, body: Any, path: str) -> list[Attachment]:
    """The documents of a ``completiondocs`` answer (a list, or a page with ``Items``)."""
    items = ci_get(body, "Items") if isinstance(body, Mapping) else body
    if not isinstance(items, list):
        raise ProtocolError("the completion documents are not a list", method="GET", path=path)
    return [_document(issue_id, item, number, path) for number, item in enumerate(items, 1)]


def _document(issue_id: str, item: Any, number: int, path: str) -> Attachment:
    if not isinstance(item, Mapping):
        raise ProtocolError(
            f"completion document {number} of issue {issue_id} is not an object",
            method="GET",
            path=path,
        )
    name = ci_get(item, "Name") or ci_get(item, "FileName") or f"completion-document-{number}"
    what = f"completion document {str(name)!r} of issue {issue_id}"
    content = decode_bytes(ci_get(item, _BYTES), what=what, path=path)
    media_type = ci_get(item, "ContentType") or _PDF
    return Attachment(str(name), content, str(media_type))
