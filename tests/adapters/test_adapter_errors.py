"""The adapters' exception boundary: complete, located, and free of secrets."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

import adapters.alto
import adapters.errors
import adapters.fixflo
from adapters.errors import (
    AdapterError,
    AnswerLimitError,
    AuthError,
    BadRequestError,
    ConfigError,
    ConflictError,
    ConnectError,
    ConnectionLostError,
    DeadlineError,
    DocumentNotFoundError,
    EnvelopeError,
    ForbiddenError,
    HTTPStatusError,
    ListingLimitError,
    NotFoundError,
    NotOfferedError,
    OutcomeUnknownError,
    PageLoopError,
    ProtocolError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    TransportError,
    error_for_response,
    mapped_transport_errors,
    redact,
    translate_transport_error,
)
from adapters.http import make_limiter
from adapters.secrets import read_secret
from engine import errors as port
from engine.errors import RulebridgeError

# The kinds of port failure the engine sorts by (engine.errors).
ENGINE_KINDS: tuple[type[port.PortError], ...] = (
    port.CredentialsRefused,
    port.RecordRefused,
    port.NotOffered,
    port.Retryable,
    port.OutcomeUnknown,
)
# Every adapter exception and the engine kinds it is. A class of no kind (the bases,
# ConfigError) is one the engine reads as outcome unknown.
KINDS: dict[type[AdapterError], set[type[port.PortError]]] = {
    AdapterError: set(),
    ConfigError: set(),
    TransportError: {port.Retryable},
    ConnectError: {port.Retryable},
    RequestTimeoutError: {port.Retryable, port.OutcomeUnknown},
    ConnectionLostError: {port.Retryable, port.OutcomeUnknown},
    ProtocolError: {port.OutcomeUnknown},
    AnswerLimitError: {port.OutcomeUnknown},
    PageLoopError: {port.OutcomeUnknown},
    ListingLimitError: {port.OutcomeUnknown},
    DeadlineError: {port.OutcomeUnknown},
    OutcomeUnknownError: {port.OutcomeUnknown},
    HTTPStatusError: set(),
    AuthError: {port.CredentialsRefused},
    ForbiddenError: {port.CredentialsRefused},
    NotFoundError: {port.RecordRefused},
    DocumentNotFoundError: {port.RecordRefused},
    NotOfferedError: {port.RecordRefused, port.NotOffered},
    ConflictError: {port.RecordRefused},
    BadRequestError: {port.RecordRefused},
    RateLimitedError: {port.Retryable},
    ServerError: {port.Retryable},
    EnvelopeError: {port.RecordRefused},
}


def _subclasses(cls: type) -> set[type]:
    found: set[type] = set()
    subclasses: list[type] = cls.__subclasses__()
    for sub in subclasses:
        found |= {sub} | _subclasses(sub)
    return found


def test_every_httpx_exception_is_mapped() -> None:
    """After httpx's test_httpcore_all_exceptions_mapped: a new httpx exception fails here."""
    public = {cls for cls in _subclasses(httpx.HTTPError) if cls.__module__.startswith("httpx")}
    assert public - mapped_transport_errors() == set()


def test_every_adapter_exception_has_its_engine_kind() -> None:
    """After httpx's test_httpcore_all_exceptions_mapped: a new adapter exception fails here
    until it is given the engine kind the engine should sort it by."""
    declared = {
        value
        for value in vars(adapters.errors).values()
        if isinstance(value, type) and issubclass(value, AdapterError)
    }
    assert declared == set(KINDS)
    assert {cls.__name__ for cls in declared} <= set(adapters.errors.__all__)
    for cls, kinds in KINDS.items():
        assert issubclass(cls, port.PortError)
        assert {kind for kind in ENGINE_KINDS if issubclass(cls, kind)} == kinds, cls.__name__


def test_every_status_and_transport_failure_has_a_kind() -> None:
    request = httpx.Request("POST", "http://x.test/work-orders")
    statuses = [*range(400, 419), 421, 422, 429, *range(500, 512)]
    for status in statuses:
        answered = error_for_response(httpx.Response(status, request=request))
        assert any(isinstance(answered, kind) for kind in ENGINE_KINDS), status
    for cls in mapped_transport_errors() - {httpx.HTTPStatusError, httpx.HTTPError}:
        error = translate_transport_error(cls("x"), "POST", "/work-orders")
        assert any(isinstance(error, kind) for kind in ENGINE_KINDS) or isinstance(
            error, ConfigError
        ), cls


@pytest.mark.parametrize("cls", sorted(mapped_transport_errors(), key=str))
def test_each_translation_keeps_method_and_path(cls: type[httpx.HTTPError]) -> None:
    request = httpx.Request("GET", "http://x.test/inventory/filter")
    exc = (
        cls("boom", request=request, response=httpx.Response(500, request=request))
        if cls is httpx.HTTPStatusError
        else cls("boom")
    )
    error = translate_transport_error(exc, "GET", "/inventory/filter")
    assert isinstance(error, AdapterError)
    assert isinstance(error, RulebridgeError)
    assert str(error).startswith("GET /inventory/filter: ")


@pytest.mark.parametrize(
    ("cls", "expected", "retryable"),
    [
        (httpx.ConnectError, ConnectError, True),
        (httpx.ReadTimeout, RequestTimeoutError, True),
        (httpx.RemoteProtocolError, ConnectionLostError, True),
        (httpx.UnsupportedProtocol, ConfigError, False),
    ],
)
def test_transport_errors_by_kind(
    cls: type[httpx.HTTPError], expected: type, retryable: bool
) -> None:
    error = translate_transport_error(cls("x"), "POST", "/work-orders")
    assert type(error) is expected
    assert isinstance(error, port.Retryable) is retryable


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, AuthError),
        (403, ForbiddenError),
        (409, ConflictError),
        (429, RateLimitedError),
        (500, ServerError),
        (503, ServerError),
        (400, BadRequestError),
    ],
)
def test_statuses_map_to_classes(status: int, expected: type) -> None:
    request = httpx.Request("GET", "http://x.test/contacts?email=a@b.example")
    headers = {"Retry-After": "2", "Location": "/work-orders/9"}
    response = httpx.Response(status, request=request, headers=headers, json={"title": "x"})
    error = error_for_response(response)
    assert type(error) is expected
    assert (error.method, error.path, error.status) == ("GET", "/contacts", status)
    assert "a@b.example" not in str(error)
    if isinstance(error, RateLimitedError):
        assert error.retry_after == 2.0
    if isinstance(error, ConflictError):
        assert error.location == "/work-orders/9"


def test_redaction_hides_tokens_people_and_named_secrets() -> None:
    text = '{"access_token": "tok-123", "email": "ann@x.example", "phone": "+44 20 7946 0123"}'
    shown = redact(text + " Bearer abc.def s3cret", secrets=("s3cret",))
    for hidden in ("tok-123", "ann@x.example", "7946", "abc.def", "s3cret"):
        assert hidden not in shown
    assert len(redact("x" * 5000)) < 400


def test_secrets_come_from_the_environment_then_the_file(tmp_path: Path) -> None:
    secrets = tmp_path / "acme.secrets"
    secrets.write_text("# comment\nFIXFLO_TOKEN = 'from-file'\n", "utf-8")
    secrets.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        read_secret("FIXFLO_TOKEN", secrets, env={})
    secrets.chmod(0o600)
    assert read_secret("FIXFLO_TOKEN", secrets, env={}) == "from-file"
    assert read_secret("FIXFLO_TOKEN", secrets, env={"FIXFLO_TOKEN": "env"}) == "env"
    with pytest.raises(ConfigError, match="OTHER is not set") as caught:
        read_secret("OTHER", secrets, env={})
    assert "from-file" not in str(caught.value)
    with pytest.raises(ConfigError, match="cannot read the secrets file"):
        read_secret("OTHER", tmp_path / "missing", env={})


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert adapters.errors.parse_retry_after("3") == 3.0
    assert adapters.errors.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert adapters.errors.parse_retry_after("soon") is None
    assert adapters.errors.parse_retry_after("nan") is None


def test_limiter_sizes_keep_any_window_within_the_limit() -> None:
    limiter = make_limiter(500)
    assert limiter.max_rate + 60 * limiter.max_rate / limiter.time_period <= 500 + 1e-9
    with pytest.raises(ValueError, match="at least 1"):
        make_limiter(0)
