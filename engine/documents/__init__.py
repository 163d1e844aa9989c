"""Documents: YAML read with the line and column of every node, schema checks, did-you-mean.

The first phase of loading a ruleset or settings file: `load_document` reads a file safely
(no tags, no aliases bombs, no duplicate keys) into plain data plus positions, and
`check_schema` reports every JSON Schema error at its place, with "did you mean" hints from
`did_you_mean`. `dump_yaml` writes data back as YAML that reads the same under YAML 1.2.
"""

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
