"""Alto's authentication: OAuth2 client credentials, a cached token, and the AgencyRef."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncGenerator, Generator

import httpx

from adapters.errors import AuthError, ProtocolError, error_for_response
from adapters.http import decode_json

__all__ = ["AltoAuth"]

_MARGIN = 30.0  # refresh this many seconds before the token says it expires


class AltoAuth(httpx.Auth):
    """Bearer token from ``POST /token`` (Basic client id:secret), plus ``AgencyRef``.

    The token is cached until shortly before it expires; a 401 refreshes it once and resends
    the request. Secrets never appear in `repr`, logs or error messages.

    Args:
        token_url: the absolute URL of Alto's token endpoint.
        client_id: the integration's client id.
        client_secret: the integration's client secret.
        agency_ref: the agency's GUID, sent as ``AgencyRef`` on every call.

    Example::

        auth = AltoAuth("https://alto.test/token", "id", "secret", "9b6c-...")
        client = httpx.AsyncClient(base_url="https://alto.test", auth=auth)
    """

    requires_response_body = True

    def __init__(self, token_url: str, client_id: str, client_secret: str, agency_ref: str) -> None:
        self.token_url, self.agency_ref = token_url, agency_ref
        pair = f"{client_id}:{client_secret}".encode()
        self._basic = "Basic " + base64.b64encode(pair).decode("ascii")
        self._secrets = (client_secret, self._basic)
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()
        self.token_requests = 0

    def __repr__(self) -> str:
        return f"AltoAuth(token_url={self.token_url!r}, agency_ref={self.agency_ref!r})"

    @property
    def secrets(self) -> tuple[str, ...]:
        """The strings to scrub from anything shown (the secret and the current token)."""
        return (*self._secrets, self._token or "")

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError("AltoAuth works with httpx.AsyncClient only")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if self._token is None or time.monotonic() >= self._expires:
            async with self._lock:
                if self._token is None or time.monotonic() >= self._expires:
                    self._store(await self._fetch((yield self._token_request())))
        used = self._token
        response = yield self._sign(request)
        if response.status_code != 401:
            return
        async with self._lock:
            if self._token == used:  # nobody refreshed meanwhile: refresh once
                self._store(await self._fetch((yield self._token_request())))
        yield self._sign(request)

    def _token_request(self) -> httpx.Request:
        self.token_requests += 1
        return httpx.Request(
            "POST",
            self.token_url,
            headers={"Authorization": self._basic, "Accept": "application/json"},
            data={"grant_type": "client_credentials"},
        )

    async def _fetch(self, response: httpx.Response) -> httpx.Response:
        await response.aread()
        return response

    def _sign(self, request: httpx.Request) -> httpx.Request:
        request.headers["Authorization"] = f"Bearer {self._token}"
        request.headers["AgencyRef"] = self.agency_ref
        return request

    def _store(self, response: httpx.Response) -> None:
        if response.status_code == 401:
            raise AuthError(
                "Alto refused the client id or secret; check the credentials' variables",
                method="POST",
                path="/token",
                status=401,
            )
        if response.status_code >= 400:
            raise error_for_response(response, self._secrets, "/token")
        body = decode_json(response, "/token")  # bounded: a deep answer cannot recurse
        try:
            token, lifetime = str(body["access_token"]), float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError, AttributeError):
            message = "the token answer has no access_token"
            raise ProtocolError(message, method="POST", path="/token") from None
        self._token, self._expires = token, time.monotonic() + max(lifetime - _MARGIN, 1.0)
