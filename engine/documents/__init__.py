"""Documents: YAML read with the line and column of every node, schema checks, did-you-mean.

The first phase of loading a ruleset or settings file: `load_document` reads a file safely
(no tags, no aliases bombs, no duplicate keys) into plain data plus positions, and
`check_schema` reports every JSON Schema error at its place, with "did you mean" hints from
`did_you_mean`. `dump_yaml` writes data back as YAML that reads the same under YAML 1.2.

The public names are imported on first use (PEP 562): reading or writing a document
(``rulebridge fmt``, a scenario file) does not load jsonschema, which only `check_schema`
needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine._lazy import lazy_names

if TYPE_CHECKING:  # the type checker sees the names; at run time `__getattr__` loads them
    from engine.documents._core12 import dump_yaml
    from engine.documents.document import Document, JsonPath, load_document, parse_document
    from engine.documents.schema import check_schema, load_schema, schema_text
    from engine.documents.suggest import closest, did_you_mean

__all__ = [
    "Document",
    "JsonPath",
    "check_schema",
    "closest",
    "did_you_mean",
    "dump_yaml",
    "load_document",
    "load_schema",
    "parse_document",
    "schema_text",
]

_HOMES = {  # each public name: the module that defines it
    "Document": "engine.documents.document",
    "JsonPath": "engine.documents.document",
    "check_schema": "engine.documents.schema",
    "closest": "engine.documents.suggest",
    "did_you_mean": "engine.documents.suggest",
    "dump_yaml": "engine.documents._core12",
    "load_document": "engine.documents.document",
    "load_schema": "engine.documents.schema",
    "parse_document": "engine.documents.document",
    "schema_text": "engine.documents.schema",
}

if not TYPE_CHECKING:  # hidden from the type checker, which would otherwise accept any name
    __getattr__, __dir__ = lazy_names(__name__, _HOMES)
