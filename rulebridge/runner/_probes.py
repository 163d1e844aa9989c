"""The HTTP probes of `rulebridge check`: one cheap contract request per system.

Each probe makes the fewest requests that show the API is reached, the credentials are
accepted and the contract is answered, and never a paged read of the agency:

- **Alto**: ``POST /token`` (client credentials: the id and secret are accepted), then
  ``GET /tenancies?max-results=1`` (the contract's smallest page, 1..100: the token and
  the ``AgencyRef`` are accepted, and the answer is the contract's paged list).
- **Fixflo**: ``GET /Property/Search?pg=1&pgsz=1`` (the bearer token is accepted, and the
  answer is the contract's ``PrevNextPager``; ``pgsz`` is the page size the contract gives
  that list).

A request is tried at most twice (once more after a transport failure, a 429 or a 5xx),
each within `timeout` seconds whatever the server does (a trickling answer included).
Secrets are never shown: a line names the variable that holds one, never its value, and
no answer's body is shown.

Example::

    lines = await probe_fixflo(config, timeout=5.0)
    lines[0].request   # 'GET /api/v2/Property/Search?pg=1&pgsz=1'
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from adapters.errors import ConfigError
from adapters.http import Limiter
from adapters.secrets import read_secret
from rulebridge._config import AgencyConfig

__all__ = ["CheckLine", "probe_alto", "probe_fixflo"]

_RETRY_PAUSE = 0.5


@dataclass(frozen=True, slots=True)
class CheckLine:
    """One check and its result.

    Attributes:
        system: what was checked: ``config``, ``ruleset``, ``alto`` or ``fixflo``.
        check: the check's name (``valid``, ``issue parts``, ``credentials``, ``contract``).
        ok: whether it passed.
        result: what happened (``200``, ``refused (401)``, ``connection refused``...).
        request: the exact request made (method and path with its query), if any.
        ms: how long the request took, in milliseconds (both tries).
        fix: what to change when it failed: the config key or variable to fix.
    """

    system: str
    check: str
    ok: bool
    result: str
    request: str | None = None
    ms: int | None = None
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The line as JSON (`rulebridge check --format json`)."""
        return {
            "system": self.system,
            "check": self.check,
            "ok": self.ok,
            "result": self.result,
            "request": self.request,
            "ms": self.ms,
            "fix": self.fix,
        }

    @property
    def message(self) -> str:
        """One sentence: system, request, result and the fix."""
        where = f" {self.request}" if self.request else ""
        fix = f"; fix: {self.fix}" if self.fix else ""
        return f"{self.system} {self.check}:{where}: {self.result}{fix}"


@dataclass(frozen=True, slots=True)
class _Answer:
    response: httpx.Response | None
    ms: int
    failure: str | None  # a transport failure, described


async def probe_fixflo(
    config: AgencyConfig, *, timeout: float, limiter: Limiter | None = None
) -> list[CheckLine]:
    """Fixflo's one check: the bearer token and ``GET /Property/Search`` (one record)."""
    api = config.api("fixflo")
    name = api.env.get("token_env", "")
    try:
        token = read_secret(name, config.secrets_file)
    except ConfigError as exc:
        fix = _set(name, "fixflo.token_env")
        return [CheckLine("fixflo", "credentials", False, str(exc), fix=fix)]
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    async with _client(api.base_url, timeout) as client:
        request = client.build_request(
            "GET", "Property/Search", params={"pg": 1, "pgsz": 1}, headers=headers
        )
        answer = await _send(client, request, timeout, limiter)
    shown = _shown(request)
    if answer.response is None:
        return [_unreached("fixflo", shown, answer, "fixflo.base_url")]
    status = answer.response.status_code
    if status in (401, 403):
        fix = f"{_set(name, 'fixflo.token_env')} to a Fixflo API token of this agency"
        return [
            CheckLine("fixflo", "credentials", False, f"refused ({status})", shown, answer.ms, fix)
        ]
    if status != 200:
        return [_unexpected("fixflo", shown, answer, "fixflo.base_url (ending /api/v2)")]
    body = _json(answer.response)
    if not isinstance(body, Mapping) or not isinstance(body.get("Items"), list):
        return [_not_contract("fixflo", shown, answer, "a PrevNextPager with Items")]
    return [
        CheckLine(
            "fixflo", "credentials and contract", True, "200, token accepted", shown, answer.ms
        )
    ]


async def probe_alto(
    config: AgencyConfig, *, timeout: float, limiter: Limiter | None = None
) -> list[CheckLine]:
    """Alto's two checks: ``POST /token``, then ``GET /tenancies`` (one record)."""
    api = config.api("alto")
    names = (api.env.get("client_id_env", ""), api.env.get("client_secret_env", ""))
    fix_pair = (
        f"{_set(names[0], 'alto.client_id_env')} and {_set(names[1], 'alto.client_secret_env')}"
    )
    try:
        client_id, secret = (read_secret(name, config.secrets_file) for name in names)
    except ConfigError as exc:
        return [CheckLine("alto", "credentials", False, str(exc), fix=fix_pair)]
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode("ascii")
    async with _client(api.base_url, timeout) as client:
        token_request = client.build_request(
            "POST",
            "token",
            headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
            data={"grant_type": "client_credentials"},
        )
        answer = await _send(client, token_request, timeout, limiter)
        token_line, token = _token_line(token_request, answer, fix_pair)
        if token is None:
            return [token_line]
        headers = {"Authorization": f"Bearer {token}", "AgencyRef": api.agency_ref or ""}
        request = client.build_request(
            "GET", "tenancies", params={"max-results": 1}, headers=headers
        )
        answer = await _send(client, request, timeout, limiter)
    return [token_line, _tenancies_line(request, answer)]


def _token_line(
    request: httpx.Request, answer: _Answer, fix_pair: str
) -> tuple[CheckLine, str | None]:
    shown = _shown(request)
    if answer.response is None:
        return _unreached("alto", shown, answer, "alto.base_url"), None
    status = answer.response.status_code
    if status in (400, 401, 403):
        fix = f"{fix_pair} to this integration's client id and secret"
        refused = CheckLine(
            "alto", "credentials", False, f"refused ({status})", shown, answer.ms, fix
        )
        return refused, None
    if status != 200:
        return _unexpected("alto", shown, answer, "alto.base_url"), None
    body = _json(answer.response)
    token = body.get("access_token") if isinstance(body, Mapping) else None
    if not isinstance(token, str) or not token:
        return _not_contract("alto", shown, answer, "an access_token"), None
    return CheckLine("alto", "credentials", True, "200, token issued", shown, answer.ms), token


def _tenancies_line(request: httpx.Request, answer: _Answer) -> CheckLine:
    shown = _shown(request)
    if answer.response is None:
        return _unreached("alto", shown, answer, "alto.base_url")
    status = answer.response.status_code
    if status == 403:
        fix = "alto.agency_ref: this agency's AgencyRef (a GUID)"
        return CheckLine(
            "alto", "agency", False, "refused (403: AgencyRef or scope)", shown, answer.ms, fix
        )
    if status == 401:
        fix = "ask Alto to enable this integration's scopes"
        return CheckLine(
            "alto",
            "credentials",
            False,
            "the token issued was refused (401)",
            shown,
            answer.ms,
            fix,
        )
    if status != 200:
        return _unexpected("alto", shown, answer, "alto.base_url")
    body = _json(answer.response)
    if not isinstance(body, Mapping) or not isinstance(body.get("items", []), list):
        return _not_contract("alto", shown, answer, "a paged list with items")
    return CheckLine("alto", "contract", True, "200, agency accepted", shown, answer.ms)


def _client(base_url: str, timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/") + "/", timeout=httpx.Timeout(timeout), trust_env=False
    )


async def _send(
    client: httpx.AsyncClient, request: httpx.Request, timeout: float, limiter: Limiter | None
) -> _Answer:
    """`request`, tried once more after a transport failure, a 429 or a 5xx; each try
    ends within `timeout` seconds however slowly the answer comes, and spends one of
    `limiter`'s requests first when given (a run's preflight: the agency's shared limit)."""
    started = time.monotonic()
    failure: str | None = None
    response: httpx.Response | None = None
    for attempt in range(2):
        if attempt:
            await asyncio.sleep(_RETRY_PAUSE)
        failure, response = None, None
        if limiter is not None:
            await limiter.acquire()
        try:
            async with asyncio.timeout(timeout):
                response = await client.send(request)
        except TimeoutError:
            failure = f"no full answer within {timeout:g} s"
        except httpx.TimeoutException:
            failure = f"no answer within {timeout:g} s"
        except httpx.ConnectError as exc:
            failure = f"could not connect to {request.url.netloc.decode()} ({_reason(exc)})"
        except httpx.TransportError as exc:
            failure = f"the connection failed ({_reason(exc)})"
        if response is not None and response.status_code != 429 and response.status_code < 500:
            break
    return _Answer(response, round((time.monotonic() - started) * 1000), failure)


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text.split("] ", 1)[-1] if text else type(exc).__name__


def _shown(request: httpx.Request) -> str:
    """``METHOD /path?query`` as sent (the URL's path and query, no host)."""
    return f"{request.method} {request.url.raw_path.decode('ascii')}"


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _set(name: str, key: str) -> str:
    return f"set {name} (named by {key})" if name else f"add {key} to the config"


def _unreached(system: str, shown: str, answer: _Answer, key: str) -> CheckLine:
    fix = f"{key}, or the network between here and {system}"
    return CheckLine(system, "reached", False, answer.failure or "no answer", shown, answer.ms, fix)


def _unexpected(system: str, shown: str, answer: _Answer, key: str) -> CheckLine:
    status = answer.response.status_code if answer.response is not None else 0
    if status == 429 or status >= 500:
        result = f"answered {status} twice: {system} is failing or limiting; try again later"
        return CheckLine(system, "reached", False, result, shown, answer.ms, None)
    return CheckLine(system, "contract", False, f"answered {status}", shown, answer.ms, key)


def _not_contract(system: str, shown: str, answer: _Answer, expected: str) -> CheckLine:
    result = f"200, but not {expected} as the contract has it"
    return CheckLine(system, "contract", False, result, shown, answer.ms, f"{system}.base_url")
