"""The exceptions the Alto and Fixflo adapters raise, and the boundary that makes them.

Every failure of a call to a vendor API is an `AdapterError` carrying the request's method
and path (never its query, which may hold an email), the HTTP status when there was one,
and a redacted excerpt of the response body. httpx's exceptions are translated at the
boundary by `translate_transport_error`, chained with ``from``::

    RulebridgeError (engine.errors)
    └── AdapterError                 method, path, status, excerpt
        ├── ConfigError              no credentials, unreadable secrets file (no request made)
        ├── TransportError           no usable HTTP answer (retried)
        │   ├── ConnectError         the connection could not be made: nothing was sent
        │   ├── RequestTimeoutError         an answer did not come in time
        │   └── ConnectionLostError  the connection dropped mid-exchange
        ├── ProtocolError            an answer that is not the JSON the API documents
        ├── OutcomeUnknownError      a write that is not idempotent may or may not have landed
        └── HTTPStatusError          a 4xx or 5xx answer
            ├── AuthError            401: bad or expired credentials
            ├── ForbiddenError       403: Alto's AgencyRef is missing or wrong
            ├── NotFoundError        404
            │   └── DocumentNotFoundError  an issue has no document of that name
            ├── ConflictError        409: a duplicate; `location` of the existing record
            ├── RateLimitedError     429 (retried, honouring Retry-After)
            ├── ServerError          5xx (retried)
            └── EnvelopeError        Fixflo's HTTP 200 whose envelope carries Errors

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

from engine.errors import RulebridgeError

__all__ = [
    "AdapterError",
    "AuthError",
    "ConfigError",
    "ConflictError",
    "ConnectError",
    "ConnectionLostError",
    "DocumentNotFoundError",
    "EnvelopeError",
    "ForbiddenError",
    "HTTPStatusError",
    "NotFoundError",
    "OutcomeUnknownError",
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


class AdapterError(RulebridgeError):
    """A call to Alto or Fixflo failed. Prints as ``METHOD path: status: message (body)``."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        path: str = "",
        status: int | None = None,
        excerpt: str = "",
    ) -> None:
        self.message, self.method, self.path = message, method, path
        self.status, self.excerpt = status, excerpt
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.method} {self.path}: " if self.method else ""
        status = f"{self.status}: " if self.status is not None else ""
        body = f" (body: {self.excerpt})" if self.excerpt else ""
        return f"{where}{status}{self.message}{body}"


class ConfigError(AdapterError, ValueError):
    """The adapter cannot be set up: missing credentials or an unreadable secrets file."""


class TransportError(AdapterError):
    """No usable HTTP answer came back."""

    retryable = True


class ConnectError(TransportError):
    """The connection could not be made, so nothing was sent."""


class RequestTimeoutError(TransportError):
    """An answer did not come in time; a write may have landed."""


class ConnectionLostError(TransportError):
    """The connection dropped mid-exchange; a write may have landed."""


class ProtocolError(AdapterError):
    """An answer that is not what the API documents (not JSON, wrong shape)."""


class OutcomeUnknownError(AdapterError):
    """A write that is not idempotent failed in a way that leaves its outcome unknown.

    `outcome_unknown` lets the engine recognise it without importing the adapters.
    """

    outcome_unknown = True


class HTTPStatusError(AdapterError):
    """The API answered with an error status."""


class AuthError(HTTPStatusError):
    """401: the credentials or token were refused."""


class ForbiddenError(HTTPStatusError):
    """403: for Alto, the AgencyRef header is missing or names another agency."""


class NotFoundError(HTTPStatusError):
    """404: no such record or endpoint."""


class DocumentNotFoundError(NotFoundError):
    """The repair system holds no document of that name (or no invoice) for the issue.

    Its status is 404 even when the list of documents itself was read (a 200): the document
    is what is missing, and retrying will not bring it.
    """


class ConflictError(HTTPStatusError):
    """409: a duplicate; `location` is the existing record's address when given."""

    location: str | None = None


class RateLimitedError(HTTPStatusError):
    """429: too many requests; `retry_after` is the seconds the API asked to wait."""

    retryable = True
    retry_after: float | None = None


class ServerError(HTTPStatusError):
    """5xx: the API failed; retried."""

    retryable = True


class EnvelopeError(HTTPStatusError):
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
    cls, message = _BY_STATUS.get(status, (ServerError if status >= 500 else HTTPStatusError, ""))
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
