"""The exceptions the Alto and Fixflo adapters raise, and the boundary that makes them.

Every failure of a call to a vendor API is an `AdapterError` carrying the request's method
and path (never its query, which may hold an email), the HTTP status when there was one,
and a redacted excerpt of the response body. httpx's exceptions are translated at the
boundary by `translate_transport_error`, chained with ``from``::

    RulebridgeError (engine.errors)
    └── PortError (engine.errors)
        └── AdapterError                  method, path, status, excerpt
            ├── ConfigError               no credentials or secrets file
            ├── TransportError            no usable HTTP answer             Retryable
            │   ├── ConnectError          no connection: nothing was sent
            │   ├── RequestTimeoutError   no answer in time                 + OutcomeUnknown
            │   └── ConnectionLostError   dropped mid-exchange              + OutcomeUnknown
            ├── ProtocolError             not the JSON the API documents    OutcomeUnknown
            │   ├── AnswerLimitError      an answer too large or too deeply nested
            │   ├── PageLoopError         a listing sent a page it sent before
            │   └── ListingLimitError     a listing ran past its page or record cap
            ├── DeadlineError             the phase's time ran out          OutcomeUnknown
            ├── OutcomeUnknownError       a write that may have landed      OutcomeUnknown
            └── HTTPStatusError           a 4xx or 5xx answer
                ├── AuthError             401: bad or expired credentials   CredentialsRefused
                ├── ForbiddenError        403: Alto's AgencyRef is wrong    CredentialsRefused
                ├── NotFoundError         404                               RecordRefused
                │   ├── DocumentNotFoundError  an issue has no such document
                │   └── NotOfferedError   404/405 on a lookup               + NotOffered
                ├── ConflictError         409: a duplicate; `location`      RecordRefused
                ├── BadRequestError       any other 4xx (400, 405, 422...)  RecordRefused
                ├── RateLimitedError      429, honouring Retry-After        Retryable
                ├── ServerError           5xx                               Retryable
                └── EnvelopeError         Fixflo's 200 listing Errors       RecordRefused

The right-hand column is the engine's kind (`engine.errors`) each class also inherits, so the
engine sorts a failure by type without importing the adapters; `AdapterError`, `ConfigError`
and `HTTPStatusError` themselves are of no kind (the engine reads them as outcome unknown).

Example::

    from adapters.errors import AdapterError
    try:
        await adapter.read("inventory")
    except AdapterError as exc:
        print(exc)  # GET /inventory/filter: 403: the AgencyRef ... (body: ...)
"""

from __future__ import annotations

import email.utils
import math
import re
from datetime import UTC, datetime
from typing import Final

import httpx

from engine.errors import (
    CredentialsRefused,
    NotOffered,
    OutcomeUnknown,
    PortError,
    RecordRefused,
    Retryable,
)

__all__ = [
    "AdapterError",
    "AnswerLimitError",
    "AuthError",
    "BadRequestError",
    "ConfigError",
    "ConflictError",
    "ConnectError",
    "ConnectionLostError",
    "DeadlineError",
    "DocumentNotFoundError",
    "EnvelopeError",
    "ForbiddenError",
    "HTTPStatusError",
    "ListingLimitError",
    "NotFoundError",
    "NotOfferedError",
    "OutcomeUnknownError",
    "PageLoopError",
    "ProtocolError",
    "RateLimitedError",
    "RequestTimeoutError",
    "ServerError",
    "TransportError",
    "error_for_response",
    "mapped_transport_errors",
    "parse_retry_after",
    "redact",
    "translate_transport_error",
]

EXCERPT_CHARS: Final = 300
_SECRETISH = re.compile(
    r'(?i)("?(?:access_token|refresh_token|client_secret|password|secret|token|authorization)'
    r'"?\s*[:=]\s*"?)([^",&\s}]+)'
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d ()-]{8,}\d")


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` with secrets, tokens, emails and phone numbers replaced, cut to an excerpt.

    Example:
        >>> redact('{"access_token": "abc123", "Email": "a@b.example"}')
        '{"access_token": "***", "Email": "<email>"}'
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = _SECRETISH.sub(lambda match: match.group(1) + "***", text)
    text = _BEARER.sub(lambda match: match.group(1) + " ***", text)
    text = _PHONE.sub("<phone>", _EMAIL.sub("<email>", text))
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "..."


class AdapterError(PortError):
    """A call to Alto or Fixflo failed. Prints as ``METHOD path: status: message (body)``."""

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        path: str = "",
        status: int | None = None,
        excerpt: str = "",
    ) -> None:
        self.method, self.path, self.excerpt = method, path, excerpt
        super().__init__(message, status=status)

    def __str__(self) -> str:
        where = f"{self.method} {self.path}: " if self.method else ""
        status = f"{self.status}: " if self.status is not None else ""
        body = f" (body: {self.excerpt})" if self.excerpt else ""
        return f"{where}{status}{self.message}{body}"


class ConfigError(AdapterError, ValueError):
    """The adapter cannot be set up: missing credentials or an unreadable secrets file."""


class TransportError(AdapterError, Retryable):
    """No usable HTTP answer came back."""


class ConnectError(TransportError):
    """The connection could not be made, so nothing was sent."""


class RequestTimeoutError(TransportError, OutcomeUnknown):
    """An answer did not come in time; a write may have landed."""


class ConnectionLostError(TransportError, OutcomeUnknown):
    """The connection dropped mid-exchange; a write may have landed."""


class ProtocolError(AdapterError, OutcomeUnknown):
    """An answer that is not what the API documents (not JSON, wrong shape).

    A write answered so may have landed: its answer cannot be read.
    """


class AnswerLimitError(ProtocolError):
    """An answer larger or more deeply nested than the adapter reads (`adapters.http.Limits`).

    Nothing of it is used: no vendor documents such an answer, and reading it could exhaust
    memory or the interpreter's stack.
    """


class PageLoopError(ProtocolError):
    """A listing sent a page token, next URL or page number it had sent before.

    Following it would read the same pages for ever; the message names the repeated value.
    """


class ListingLimitError(ProtocolError):
    """A listing ran past the pages or records one listing may hold (`adapters.http.Limits`).

    The message names the cap and the agency config setting that raises it.
    """


class DeadlineError(AdapterError, OutcomeUnknown):
    """The time the caller gave a phase (`adapters.http.Deadline`) ran out.

    Not retried. A write cut off by it may have landed, so it is outcome unknown.
    """


class OutcomeUnknownError(AdapterError, OutcomeUnknown):
    """A write that is not idempotent failed in a way that leaves its outcome unknown."""


class HTTPStatusError(AdapterError):
    """The API answered with an error status."""


class AuthError(HTTPStatusError, CredentialsRefused):
    """401: the credentials or token were refused."""


class ForbiddenError(HTTPStatusError, CredentialsRefused):
    """403: for Alto, the AgencyRef header is missing or names another agency."""


class NotFoundError(HTTPStatusError, RecordRefused):
    """404: no such record or endpoint."""


class DocumentNotFoundError(NotFoundError):
    """The repair system holds no document of that name (or no invoice) for the issue.

    Its status is 404 even when the list of documents itself was read (a 200): the document
    is what is missing, and retrying will not bring it.
    """


class NotOfferedError(NotFoundError, NotOffered):
    """404 or 405 on a lookup the API may not offer: what it would say cannot be known."""


class ConflictError(HTTPStatusError, RecordRefused):
    """409: a duplicate; `location` is the existing record's address when given."""

    location: str | None = None


class BadRequestError(HTTPStatusError, RecordRefused):
    """A 4xx not named above (400, 405, 410, 422...): the request as sent was refused."""


class RateLimitedError(HTTPStatusError, Retryable):
    """429: too many requests; `retry_after` is the seconds the API asked to wait."""

    retry_after: float | None = None


class ServerError(HTTPStatusError, Retryable):
    """5xx: the API failed; retried."""


class EnvelopeError(HTTPStatusError, RecordRefused):
    """Fixflo answered 200 but its envelope lists Errors: the write did not happen."""


_BY_STATUS: Final[dict[int, tuple[type[HTTPStatusError], str]]] = {
    401: (AuthError, "the credentials or token were refused; check the client id and secret"),
    403: (
        ForbiddenError,
        "forbidden: the AgencyRef is missing or wrong; check agency_ref in the agency config",
    ),
    404: (NotFoundError, "not found"),
    409: (ConflictError, "a record like this exists already"),
    429: (RateLimitedError, "rate limited by the API"),
}


def error_for_response(
    response: httpx.Response, secrets: tuple[str, ...] = (), path: str | None = None
) -> HTTPStatusError:
    """The `HTTPStatusError` subclass for an error `response`, with a redacted excerpt."""
    status = response.status_code
    cls, message = _BY_STATUS.get(status, (_unnamed(status), ""))
    error = cls(
        message or f"the API answered {status} {response.reason_phrase}",
        method=response.request.method,
        path=path if path is not None else response.request.url.path,
        status=status,
        excerpt=redact(_body_text(response), secrets),
    )
    if isinstance(error, RateLimitedError):
        error.retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if isinstance(error, ConflictError):
        error.location = response.headers.get("Location")
    return error


def _unnamed(status: int) -> type[HTTPStatusError]:
    """The class of an error status `_BY_STATUS` does not name."""
    if status >= 500:
        return ServerError
    return BadRequestError if status >= 400 else HTTPStatusError


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), or None.

    Example:
        >>> parse_retry_after("2.5")
        2.5
    """
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def _body_text(response: httpx.Response) -> str:
    try:
        return response.text
    except (httpx.ResponseNotRead, UnicodeDecodeError):
        return ""


# The complete map of httpx's exceptions; tests check every httpx.HTTPError subclass is here.
_TRANSPORT: Final[dict[type[httpx.HTTPError], tuple[type[AdapterError], str]]] = {
    httpx.ConnectError: (ConnectError, "could not connect"),
    httpx.ConnectTimeout: (ConnectError, "timed out connecting"),
    httpx.ProxyError: (ConnectError, "the proxy refused the connection"),
    httpx.UnsupportedProtocol: (ConfigError, "the base URL's scheme is not http or https"),
    httpx.ReadTimeout: (RequestTimeoutError, "timed out waiting for the answer"),
    httpx.WriteTimeout: (RequestTimeoutError, "timed out sending the request"),
    httpx.PoolTimeout: (RequestTimeoutError, "timed out waiting for a free connection"),
    httpx.TimeoutException: (RequestTimeoutError, "timed out"),
    httpx.ReadError: (ConnectionLostError, "the connection dropped while reading"),
    httpx.WriteError: (ConnectionLostError, "the connection dropped while sending"),
    httpx.CloseError: (ConnectionLostError, "the connection failed while closing"),
    httpx.NetworkError: (ConnectionLostError, "a network error"),
    httpx.RemoteProtocolError: (ConnectionLostError, "the server broke the HTTP exchange"),
    httpx.LocalProtocolError: (ProtocolError, "the request could not be sent as HTTP"),
    httpx.ProtocolError: (ConnectionLostError, "an HTTP protocol error"),
    httpx.DecodingError: (ProtocolError, "the answer could not be decoded"),
    httpx.TooManyRedirects: (ProtocolError, "too many redirects"),
    httpx.HTTPStatusError: (HTTPStatusError, "an error status"),
    httpx.TransportError: (TransportError, "a transport error"),
    httpx.RequestError: (TransportError, "the request failed"),
    httpx.HTTPError: (AdapterError, "the request failed"),
}


def translate_transport_error(exc: httpx.HTTPError, method: str, path: str) -> AdapterError:
    """The adapter error for one of httpx's, by its most specific class.

    Example:
        >>> translate_transport_error(httpx.ConnectError("refused"), "GET", "/x").message
        'could not connect'
    """
    for cls in type(exc).__mro__:
        if cls in _TRANSPORT:
            target, message = _TRANSPORT[cls]
            return target(message, method=method, path=path)
    return AdapterError("the request failed", method=method, path=path)  # pragma: no cover


def mapped_transport_errors() -> frozenset[type[httpx.HTTPError]]:
    """The httpx exception classes with an explicit translation (for the completeness test)."""
    return frozenset(_TRANSPORT)
