"""Fixflo as the source of an issue's files (`engine.ports.DocumentSource`).

An attachment's ``from`` is its kind: ``IssueReport`` (``GET /Issue/{Id}/Report``) or a part
holding Media (``CompletionDocs``, ``Certificates``): the Media named `name` (its
``ShortDescription``) is found in the part, read at most once per issue per run, and its
bytes downloaded (``GET /Media/{Id}/Download``).
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Mapping
from typing import Any, Final

from adapters._records import ci_get
from adapters.errors import AdapterError, DocumentNotFoundError, ProtocolError
from adapters.fixflo._adapter import FixfloAdapter
from adapters.fixflo._issues import named_error
from engine.ports import Attachment, Record

__all__ = ["KINDS", "MEDIA_PARTS", "FixfloDocuments"]

MEDIA_PARTS: Final = ("CompletionDocs", "Certificates")
KINDS: Final = ("IssueReport", *MEDIA_PARTS)
_PDF: Final = "application/pdf"


class FixfloDocuments:
    """The files of Fixflo issues by attachment kind, each Media part read once per issue.

    Implements `engine.ports.DocumentSource`. One `FixfloDocuments` serves one run.

    Args:
        fixflo: the adapter to read through.

    Example::

        documents = FixfloDocuments(FixfloAdapter(client))
        (await documents.fetch("1042", "CompletionDocs", "invoice-1042.pdf")).content[:4]
        # b'%PDF'
    """

    def __init__(self, fixflo: FixfloAdapter) -> None:
        self.fixflo = fixflo
        self._media: dict[tuple[str, str], list[Record]] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def fetch(self, issue_id: str, kind: str, name: str) -> Attachment:
        """The document `name` of the issue, from `kind` (`KINDS`).

        Raises:
            KeyError: `kind` is not one of `KINDS` (the message suggests the closest).
            DocumentNotFoundError: the part holds no Media called `name` (a 404: retrying
                will not bring it; the message lists what the part holds).
            ProtocolError: the download is empty, or not the PDF its Media says it is.
            adapters.errors.AdapterError: Fixflo could not be read (message names the part).
        """
        issue_id = str(issue_id)
        if kind == "IssueReport":
            return Attachment(name or f"issue-{issue_id}.pdf", await self._report(issue_id))
        if kind not in MEDIA_PARTS:
            close = difflib.get_close_matches(kind, KINDS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise KeyError(f"no document kind {kind!r} in Fixflo (known: {', '.join(KINDS)}){hint}")
        media = _named(await self._part(issue_id, kind), issue_id, kind, name)
        return await self._download(issue_id, kind, name, media)

    def forget(self, issue_id: str) -> None:
        """Forget the Media parts read for `issue_id`, so the next `fetch` reads them again
        (the live server reconciles an issue many times in one long run).

        Example:
            >>> documents = FixfloDocuments.__new__(FixfloDocuments)
            >>> documents._media = {("7", "CompletionDocs"): []}
            >>> documents.forget("7"); documents._media
            {}
        """
        for key in [key for key in self._media if key[0] == str(issue_id)]:
            del self._media[key]

    async def _report(self, issue_id: str) -> bytes:
        try:
            content = await self.fixflo.issue_report(issue_id)
        except AdapterError as exc:
            raise named_error(exc, issue_id, "IssueReport") from exc
        _check_pdf(
            content, _PDF, f"the report of Fixflo issue {issue_id}", f"/Issue/{issue_id}/Report"
        )
        return content

    async def _part(self, issue_id: str, part: str) -> list[Record]:
        key = (issue_id, part)
        async with self._locks.setdefault(key, asyncio.Lock()):
            if key not in self._media:
                self._media[key] = await self.fixflo.media(issue_id, part)
        return self._media[key]

    async def _download(
        self, issue_id: str, part: str, name: str, media: Mapping[str, Any]
    ) -> Attachment:
        media_id = str(ci_get(media, "Id"))
        try:
            content = await self.fixflo.download(media_id)
        except AdapterError as exc:
            raise named_error(exc, issue_id, part) from exc
        media_type = str(ci_get(media, "ContentType") or _PDF)
        what = f"{part} document {name!r} of Fixflo issue {issue_id}"
        _check_pdf(content, media_type, what, f"/Media/{media_id}/Download")
        return Attachment(name, content, media_type)


def _named(media: list[Record], issue_id: str, part: str, name: str) -> Mapping[str, Any]:
    """The Media called `name` (its ShortDescription) with an id to download by."""
    for item in media:
        if ci_get(item, "ShortDescription") == name and ci_get(item, "Id"):
            return item
    held = ", ".join(sorted(str(ci_get(m, "ShortDescription")) for m in media)) or "none"
    raise DocumentNotFoundError(
        f"Fixflo issue {issue_id} has no {part} document {name!r} (it has: {held}); "
        "check the issue in Fixflo",
        method="GET",
        path=f"/issue/{issue_id}/completiondocs"
        if part == "CompletionDocs"
        else "/Medias/PropertyCertificate",
        status=404,  # a 4xx: nothing to retry until someone fixes the issue in Fixflo
    )


def _check_pdf(content: bytes, media_type: str, what: str, path: str) -> None:
    """Raise ProtocolError for an empty file, or a PDF that does not start like one."""
    if not content:
        raise ProtocolError(f"{what} came back empty", method="GET", path=path)
    if media_type.split(";")[0].strip().casefold() == _PDF and not content.startswith(b"%PDF"):
        raise ProtocolError(
            f"{what} is not the PDF its Media says (it starts {content[:8]!r})",
            method="GET",
            path=path,
        )
