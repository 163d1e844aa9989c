"""Fixflo's authentication: one bearer token per integration."""

from __future__ import annotations

from collections.abc import Generator

import httpx

__all__ = ["FixfloAuth"]


class FixfloAuth(httpx.Auth):
    """Sends ``Authorization: Bearer <token>``; the token never appears in `repr`.

    Example:
        >>> auth = FixfloAuth("token-from-the-environment")
        >>> "token-from" in repr(auth)
        False
    """

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "FixfloAuth(token=***)"

    @property
    def secrets(self) -> tuple[str, ...]:
        """The strings to scrub from anything shown."""
        return (self._token,)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request
