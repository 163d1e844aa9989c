"""`manifest.json`: when the export was taken, for which agency, and a SHA-256 of every file.

The export is the snapshot the migration reads (J-15): `exported_at` is the moment it was
taken, and the hashes prove that no file changed since.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import MappingProxyType

from engine.documents.suggest import did_you_mean

from ._coerce import ExportError, open_binary
from .spec import MANIFEST, TABLES

__all__ = ["FORMAT", "Manifest", "read_manifest", "sha256_file", "write_manifest"]

FORMAT = "rulebridge.jupix/1"
_MAX_BYTES = 1_000_000
_SHA256 = re.compile(r"[0-9a-f]{64}")
_KEYS = frozenset({"exported_at", "agency", "files", "format"})


@dataclass(frozen=True, slots=True)
class Manifest:
    """The parsed `manifest.json`.

    Attributes:
        exported_at: ISO date and time the export (snapshot) was taken.
        agency: The agency's name.
        files: File name to lowercase hex SHA-256 of its bytes.
    """

    exported_at: str
    agency: str
    files: Mapping[str, str]


def sha256_file(path: Path) -> str:
    """The lowercase hex SHA-256 of a file, read in 1 MiB chunks.

    Example::

        sha256_file(Path("export/contacts.csv"))
        # '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'
    """
    digest = hashlib.sha256()
    with open_binary(path) as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(folder: Path, *, agency: str, exported_at: datetime) -> Manifest:
    """Hash every export file present in `folder` and write `manifest.json` (atomically).

    Write it last, once every other file is complete.

    Example::

        write_manifest(Path("export"), agency="Acme Lettings",
                       exported_at=datetime(2025, 6, 1, 18, 0))
    """
    files = {
        spec.file: sha256_file(folder / spec.file)
        for spec in TABLES.values()
        if (folder / spec.file).is_file()
    }
    manifest = Manifest(exported_at.isoformat(timespec="seconds"), agency, files)
    document = {
        "format": FORMAT,
        "exported_at": manifest.exported_at,
        "agency": agency,
        "files": files,
    }
    partial = folder / f".{MANIFEST}.partial"
    partial.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, folder / MANIFEST)
    return manifest


def read_manifest(folder: Path) -> Manifest:
    """Read and validate `folder/manifest.json`.

    Raises:
        ExportError: The manifest is missing, too large, not JSON, or not of the documented
            shape; the message says which key is wrong.

    Example::

        read_manifest(Path("export")).exported_at
        # '2025-06-01T18:00:00'
    """
    document = _load(folder / MANIFEST)
    unknown = sorted(set(document) - _KEYS)
    if unknown:
        hint = did_you_mean(unknown[0], sorted(_KEYS))
        raise ExportError(MANIFEST, f"unknown key {unknown[0]!r}{hint}")
    if document.get("format", FORMAT) != FORMAT:
        raise ExportError(MANIFEST, f"format is {document['format']!r}; this reader reads {FORMAT}")
    return Manifest(
        _exported_at(document.get("exported_at")),
        _agency(document.get("agency")),
        MappingProxyType(_files(document.get("files"))),
    )


def _load(path: Path) -> dict[str, object]:
    if not path.is_file():
        raise ExportError(MANIFEST, "missing; the export must include manifest.json")
    with open_binary(path) as stream:
        raw = stream.read(_MAX_BYTES + 1)
    if len(raw) > _MAX_BYTES:
        raise ExportError(MANIFEST, f"larger than {_MAX_BYTES} bytes; this is not a manifest")
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ExportError(MANIFEST, f"not UTF-8 (byte {exc.start}); re-save as UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise ExportError(f"{MANIFEST}:{exc.lineno}", f"not valid JSON: {exc.msg}") from exc
    if not isinstance(document, dict):
        raise ExportError(MANIFEST, "must be a JSON object with exported_at, agency and files")
    return document


def _exported_at(value: object) -> str:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).isoformat(timespec="seconds")
        except ValueError:
            pass
    raise ExportError(
        MANIFEST, "exported_at must be an ISO date and time, e.g. 2025-06-01T18:00:00"
    )


def _agency(value: object) -> str:
    if isinstance(value, str) and value.strip():
        return value
    raise ExportError(MANIFEST, "agency must be the agency's name (a non-empty string)")


def _files(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ExportError(MANIFEST, "files must be an object of file name to SHA-256")
    for name, digest in value.items():
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise ExportError(MANIFEST, f"files[{name!r}] must be 64 lowercase hex digits")
    return {str(name): str(digest) for name, digest in value.items()}
