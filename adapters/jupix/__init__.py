"""The Jupix export: its format as data, and a strict streaming reader.

Jupix has no public API; a migration reads an export folder (`docs/jupix-export.md`)::

    RulebridgeError (engine.errors)
    ├── RecordError     one bad row: ``file:line (record id): message``; reading goes on
    └── ExportError     a whole file cannot be read: missing, not UTF-8, bad header,
                        XML not well-formed or refused (entity bomb), bad manifest

Example::

    from adapters.jupix import JupixExport
    export = JupixExport("exports/acme")
    [str(problem) for problem in export.check()]
    # []
"""

from __future__ import annotations

from ._coerce import ExportError, Row, Value
from .manifest import Manifest, write_manifest
from .reader import JupixExport
from .spec import TABLES, Column, TableSpec

__all__ = [
    "TABLES",
    "Column",
    "ExportError",
    "JupixExport",
    "Manifest",
    "Row",
    "TableSpec",
    "Value",
    "write_manifest",
]
