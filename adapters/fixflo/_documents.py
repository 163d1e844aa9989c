"""Fixflo as the source of an issue's files (`engine.ports.DocumentSource`).

One `FixfloDocuments` serves one run: it reads each issue's completion documents and
invoice at most once, however many of them the run attaches.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Awaitable, Callable
from typing import Final

from adapters.errors import DocumentNotFoundError
from adapters.fixflo._adapter import FixfloAdapter
from engine.ports import Attachment, Record

__all__ = ["KINDS", "FixfloDocuments"]

KINDS: Final = ("issue_report", "completion_documents", "invoice")


class FixfloDocuments:
    """The files of Fixflo issues by lifecycle attachment kind, cached per issue.

    Implements `engine.ports.DocumentSource`. Kinds: ``issue_report`` (the issue as a PDF,
    named as asked), ``completion_documents`` (the document called `name`) and ``invoice``
    (the invoice's file; `name` may be empty to take Fixflo's own).

    Args:
        fixflo: the adapter to read through.

    Example::

        documents = FixfloDocuments(FixfloAdapter(client))
        (await documents.fetch("1042", "issue_report", "issue-1042.pdf")).content[:4]
        # b'%PDF'
    """

    def __init__(self, fixflo: FixfloAdapter) -> None:
        self.fixflo = fixflo
        self._completion: dict[str, dict[str, Attachment]] = {}
        self._invoices: dict[str, Record | None] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._readers: dict[str, Callable[[str, str], Awaitable[Attachment]]] = {
            "issue_report": self._report,
            "completion_documents": self._completion_document,
            "invoice": self._invoice,
        }

    async def fetch(self, issue_id: str, kind: str, name: str) -> Attachment:
        """The document `name` of the issue, of attachment kind `kind`.

        Raises:
            KeyError: `kind` is not one of `KINDS`.
            DocumentNotFoundError: the issue has no such document (or no invoice file).
            adapters.errors.AdapterError: Fixflo could not be read.
        """
        reader = self._readers.get(kind)
        if reader is None:
            close = difflib.get_close_matches(kind, KINDS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise KeyError(f"no document kind {kind!r} in Fixflo (known: {', '.join(KINDS)}){hint}")
        return await reader(str(issue_id), name)

    async def _report(self, issue_id: str, name: str) -> Attachment:
        return Attachment(name or f"issue-{issue_id}.pdf", await self.fixflo.issue_report(issue_id))

    async def _completion_document(self, issue_id: str, name: str) -> Attachment:
        async with self._lock(issue_id):
            if issue_id not in self._completion:
                read = await self.fixflo.completion_documents(issue_id)
                self._completion[issue_id] = {document.name: document for document in read}
        held = self._completion[issue_id]
        if name not in held:
            names = ", ".join(sorted(held)) or "none"
            raise _missing(
                issue_id, f"no completion document {name!r} (it has: {names})", "completiondocs"
            )
        return held[name]

    async def _invoice(self, issue_id: str, name: str) -> Attachment:
        async with self._lock(issue_id):
            if issue_id not in self._invoices:
                self._invoices[issue_id] = await self.fixflo.invoice(issue_id)
        invoice = self._invoices[issue_id]
        if invoice is None:
            raise _missing(issue_id, "no invoice", "invoicedetails")
        content = invoice.get("content")
        if not isinstance(content, bytes):
            raise _missing(issue_id, "an invoice without its file", "invoicedetails")
        return Attachment(name or str(invoice["Document"]), content)

    def _lock(self, issue_id: str) -> asyncio.Lock:
        """One lock per issue, so concurrent fetches of one issue share a single read."""
        return self._locks.setdefault(issue_id, asyncio.Lock())


def _missing(issue_id: str, what: str, tail: str) -> DocumentNotFoundError:
    return DocumentNotFoundError(
        f"Fixflo issue {issue_id} has {what}; check the issue in Fixflo",
        method="GET",
        path=f"/issue/{issue_id}/{tail}",
        status=404,  # a 4xx: nothing to retry until someone fixes the issue in Fixflo
    )
