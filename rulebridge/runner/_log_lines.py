"""What one log record becomes: a JSON object for machines, a line for a person.

Every string that reaches a log line passes through `scrub`: personal data masked
(`redact_personal`), query strings dropped from URLs and paths (they can hold references
and email addresses), bearer tokens hidden. Values are made JSON-safe on the way
(`clean`), so a line is always one valid JSON object whatever a caller passed.

The run's own records carry a `RunLine` (event, fields, time); a library's records
(stamina, httpx, uvicorn, the adapters) are shaped by `library_fields`:

- stamina's ``stamina.retry_scheduled``: ``retry_num``, ``wait_for``, ``waited_so_far``,
  ``callable`` and ``caused_by`` (the exception's class only: its text may hold a URL);
  never the guarded call's arguments.
- httpx's ``HTTP Request``: ``method``, ``host``, ``path`` (no query string) and ``status``.
- anything else: the message template as the event and the message as ``message``.

Example:
    >>> scrub("GET https://x.test/contacts?email=ann@example.com failed for LS6 2QD")
    'GET https://x.test/contacts failed for [postcode]'
    >>> human("plan", {"operations": 5, "summary": {"create property": 3, "update tenant": 2}})
    'plan: operations 5; summary: create property 3, update tenant 2'
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

from pythonjsonlogger.json import JsonFormatter

__all__ = [
    "CORE",
    "LINE",
    "JsonLines",
    "RunLine",
    "clean",
    "human",
    "human_library",
    "iso",
    "library_fields",
    "redact_personal",
    "scrub",
]

LINE: Final = "rulebridge_line"
"""The attribute of a run's own log record that holds its `RunLine`."""
CORE: Final = ("at", "level", "event", "run", "logger")
"""The keys every JSON line starts with; a field of the same name gets a ``_`` after it."""

_EMAIL: Final = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE: Final = re.compile(r"(?<![\w/])\+?\d[\d ()-]{8,}\d(?![\w/])")
_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
"""A date (``2026-12-07``: a fleet's night, a run's as-of date) is no phone number."""
_POSTCODE: Final = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b", re.IGNORECASE)
_QUERY: Final = re.compile(r"((?:\bhttps?://|/)[^\s?#\"'<>]*)\?[^\s#\"'<>]+")
_BEARER: Final = re.compile(r"\b(Bearer|Basic)\s+[\w.~+/=-]+", re.IGNORECASE)
_EXCEPTION: Final = re.compile(r"^[A-Za-z_][\w.]*")
_DEPTH: Final = 12
"""Nesting deeper than this is shown as text (a field that holds itself ends there)."""


def redact_personal(text: str) -> str:
    """`text` with email addresses, phone numbers and UK postcodes masked."""
    text = _EMAIL.sub("[email]", text)
    text = _PHONE.sub(_phone, text)
    return _POSTCODE.sub("[postcode]", text)


def _phone(match: re.Match[str]) -> str:
    """A phone number masked; an ISO date, which the phone pattern also matches, kept."""
    return match.group() if _ISO_DATE.fullmatch(match.group()) else "[phone]"


def scrub(text: str) -> str:
    """`text` fit for a log: personal data masked, query strings and tokens dropped."""
    text = _BEARER.sub(lambda found: f"{found.group(1)} [secret]", text)
    return redact_personal(_QUERY.sub(r"\1", text))


def clean(value: Any, depth: int = 0) -> Any:
    """`value` as JSON-safe data with every string (keys too) scrubbed.

    Dicts, lists, tuples and sets keep their shape (sets as sorted lists); numbers stay
    numbers (NaN and infinities become text, which JSON cannot hold); anything else is
    its text, scrubbed.
    """
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return scrub(value)
    if depth >= _DEPTH:
        return "[nested too deep]"
    if isinstance(value, Mapping):
        return {scrub(str(key)): clean(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [clean(item, depth + 1) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((clean(item, depth + 1) for item in value), key=repr)
    return scrub(_text(value))


def _text(value: Any) -> str:
    try:
        return str(value)
    except Exception:  # a broken __str__ must not lose the line
        return f"<{type(value).__name__}>"


def iso(moment: datetime) -> str:
    """`moment` in ISO 8601 with its offset (a naive time is taken as local time)."""
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.isoformat(timespec="milliseconds")


@dataclass(eq=False)
class RunLine:
    """A run's own record: its event and fields, when, and which run log said it.

    `written` turns true once the log's own handler has it, so the log writes a line
    once whether or not its handler is installed in the logging tree.
    """

    owner: object
    at: datetime
    event: str
    fields: dict[str, Any]
    run: int | None
    written: bool = field(default=False)


def library_fields(record: logging.LogRecord) -> tuple[str, dict[str, Any]]:
    """The event and fields of a library's record (see the module docstring)."""
    details = vars(record)
    if record.msg == "stamina.retry_scheduled":
        fields = {
            "retry_num": details.get("stamina.retry_num"),
            "wait_for": details.get("stamina.wait_for"),
            "waited_so_far": details.get("stamina.waited_so_far"),
            "callable": details.get("stamina.callable"),
            "caused_by": _exception_class(details.get("stamina.caused_by")),
        }
        return "stamina.retry_scheduled", {k: v for k, v in fields.items() if v is not None}
    request = _http_request(record)
    if request is not None:
        return "HTTP Request", request
    template = _text(record.msg)
    message = _message(record)
    return template, ({"message": message} if message != template else {})


def _exception_class(caused_by: Any) -> str | None:
    found = _EXCEPTION.match(str(caused_by)) if caused_by is not None else None
    return found.group(0) if found else None


def _http_request(record: logging.LogRecord) -> dict[str, Any] | None:
    """httpx's ``HTTP Request: METHOD URL "VERSION STATUS REASON"`` as fields."""
    if not (isinstance(record.msg, str) and record.msg.startswith("HTTP Request:")):
        return None
    if not (isinstance(record.args, tuple) and len(record.args) == 5):
        return None
    method, url, _version, status, _reason = record.args
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return {"method": str(method), "host": host, "path": parts.path, "status": status}


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # a record whose arguments do not fit its template
        return f"{_text(record.msg)} (arguments did not fit)"


class JsonLines(JsonFormatter):
    """python-json-logger's formatter, shaping each record as this project's line:
    ``at``, ``level``, ``event``, ``run``, ``logger``, then the fields, all scrubbed.

    Args:
        run_of: the current run id (None before the run has one), for library records.
    """

    def __init__(self, run_of: Callable[[], int | None]) -> None:
        super().__init__(json_default=_text, json_ensure_ascii=True)
        self.run_of = run_of

    def format(self, record: logging.LogRecord) -> str:
        """The record as one JSON object (never raises: an unformattable record still
        gives a line saying so)."""
        try:
            record.getMessage()
        except Exception:  # arguments that do not fit the template: the template, said so
            text = _message(record)
            record = logging.makeLogRecord(vars(record) | {"args": (), "msg": text})
        try:
            return super().format(record)
        except Exception as exc:
            line = {
                "at": iso(datetime.now(UTC)),
                "level": "error",
                "event": "log.unformattable",
                "run": None,
                "logger": record.name,
                "error": type(exc).__name__,
            }
            return json.dumps(line)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        """Fill `log_data` with the line (python-json-logger's hook)."""
        own = getattr(record, LINE, None)
        if isinstance(own, RunLine):
            at, event, fields, run = own.at, own.event, own.fields, own.run
        else:
            at = datetime.fromtimestamp(record.created, UTC)
            event, fields = library_fields(record)
            run = self.run_of()
            if message_dict.get("exc_info"):
                fields = fields | {"exc_info": message_dict["exc_info"]}
        log_data.update(
            {"at": iso(at), "level": record.levelname.lower(), "event": scrub(event), "run": run}
        )
        log_data["logger"] = record.name
        for key, value in clean(fields).items():
            log_data[f"{key}_" if key in CORE else key] = value


def human(event: str, fields: Mapping[str, Any]) -> str:
    """An event as a line for a person: ``apply: dead 0; outcomes: property (create 3)``.

    Fields without a value are left out; counts read as ``create 3, update 2``.
    """
    shown = [_field(key, value) for key, value in fields.items() if value is not None]
    details = "; ".join(part for part in shown if part)
    return f"{event}: {details}" if details else event


def _field(key: str, value: Any) -> str:
    if isinstance(value, Mapping):
        return f"{key}: {_human_value(value)}"
    return f"{key} {_human_value(value)}"


def _human_value(value: Any, depth: int = 0) -> str:
    if isinstance(value, Mapping):
        if not value:
            return "none"
        if depth >= _DEPTH:
            return "..."
        parts = []
        for key, item in value.items():
            text = _human_value(item, depth + 1)
            parts.append(f"{key} ({text})" if isinstance(item, Mapping) else f"{key} {text}")
        return ", ".join(parts)
    if isinstance(value, list | tuple | set | frozenset):
        if depth >= _DEPTH:
            return "..."
        return ", ".join(_human_value(item, depth + 1) for item in value) or "none"
    if value is None:
        return "-"
    return _text(value)


def human_library(record: logging.LogRecord) -> str:
    """A library's record as a line for a person (stamina's retries in words)."""
    event, fields = library_fields(record)
    fields = clean(fields)
    level = record.levelname.lower()
    if event == "stamina.retry_scheduled":
        cause = fields.get("caused_by") or "an error"
        called = str(fields.get("callable") or "<")
        what = "" if called.startswith("<") else f" of {called}"  # not "<context block>"
        return (
            f"{level}: retry {fields.get('retry_num', '?')}{what} in "
            f"{fields.get('wait_for', '?')} s after {cause}"
        )
    message = fields.get("message", scrub(event))
    return f"{level}: {record.name}: {message}"
