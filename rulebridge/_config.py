"""Agency config: a YAML file per agency saying how to reach its Alto and Fixflo.

Checked against ``engine/schema/agency.schema.json`` with every error located, like
rulesets. Credentials are named (environment variables), never written in the file::

    agency: acme
    secrets_file: acme.secrets        # optional NAME=value lines, owner-readable only
    alto:
      base_url: https://api.alto.zoopla.co.uk
      agency_ref: 9b6c0d1e-2f3a-4b5c-8d7e-0f1a2b3c4d5e
      client_id_env: ACME_ALTO_CLIENT_ID
      client_secret_env: ACME_ALTO_CLIENT_SECRET
      rate_limit: {per_minute: 600}
    fixflo:
      base_url: https://acme.fixflo.com/api/v2
      token_env: ACME_FIXFLO_TOKEN
      rate_limit: {per_minute: 500}     # the default
    timeout_seconds: 30                 # one request, connect to the answer's last byte
    limits:                             # optional; the defaults shown
      records_per_listing: 1000000
      pages_per_listing: 100001         # records_per_listing at 10 a page, and one more
      response_megabytes: 64
      snapshot_seconds: 7200            # the snapshot phase ends by then
    webhook:                            # optional: `rulebridge serve` (docs/runner.md)
      listen: 127.0.0.1:8787
      public_url: https://rb.acme.example/fixflo
      secret_env: ACME_FIXFLO_WEBHOOK_SECRET
    metrics:                            # optional: a Prometheus textfile after each run
      textfile: /var/lib/node_exporter/textfile/rulebridge-acme.prom
    alerts:                             # optional: tell someone (docs/runner.md)
      url_env: ACME_ALERT_URL           # POST the JSON summary there (a secret: never logged)
      command: [/usr/local/bin/page-ops, --agency, acme]   # and/or: summary on stdin
      on: [failure, interrupted, dead_letters, drift, for_a_person]   # the default: all
      timeout_seconds: 10
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
from aiolimiter import AsyncLimiter

from adapters.alto import AltoAuth
from adapters.errors import ConfigError
from adapters.fixflo import ISSUE_EVENTS, FixfloAuth
from adapters.http import Limits, RetryPolicy, make_limiter
from adapters.secrets import read_secret
from engine.documents.document import Document, load_document
from engine.documents.schema import check_schema
from engine.errors import RulesetError, RulesetErrors

__all__ = [
    "ALERT_TRIGGERS",
    "AgencyConfig",
    "AlertsConfig",
    "ApiConfig",
    "MetricsConfig",
    "WebhookConfig",
    "load_agency_config",
]

ALERT_TRIGGERS: Final = ("failure", "interrupted", "dead_letters", "drift", "for_a_person")
"""What an alert fires on (``alerts.on``), in this order (`rulebridge.runner.alerts`)."""
DEFAULT_PER_MINUTE: Final = {"alto": 600.0, "fixflo": 500.0}
DEFAULT_SNAPSHOT_SECONDS: Final = 7200.0
_LOCAL: Final = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True, slots=True)
class ApiConfig:
    """One API of the agency: where it is, which variables hold its secrets, its limit."""

    system: str
    base_url: str
    env: dict[str, str]
    per_minute: float
    agency_ref: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """The ``webhook:`` section: how `rulebridge serve` listens and subscribes.

    Attributes:
        host: the address the server binds.
        port: its port (0: any free one).
        public_url: what Fixflo posts to, without the path token.
        secret_env: the variable holding the subscription's secret.
        signature: ``hmac-sha256`` (check ``ff-signature``) or ``none`` (the token only).
        events: the Fixflo events subscribed to.
        workers: issues reconciled at once.
        queue_limit: distinct issues waiting at most before deliveries get 503.
        attempts: reconcile attempts before an issue is left to the nightly run.
        grace_seconds: how long in-flight reconciles get on SIGTERM.
    """

    host: str
    port: int
    public_url: str
    secret_env: str
    signature: str = "hmac-sha256"
    events: tuple[str, ...] = ISSUE_EVENTS
    workers: int = 4
    queue_limit: int = 1000
    attempts: int = 5
    grace_seconds: float = 20.0

    @property
    def listen(self) -> str:
        """``host:port`` as written (IPv6 hosts in brackets)."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def ours(self) -> str:
        """What every subscription of ours posts below: `public_url` and a slash."""
        return self.public_url + "/"


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    """The ``metrics:`` section: where each run's Prometheus textfile goes
    (`rulebridge.runner.metrics`).

    Attributes:
        textfile: the ``.prom`` file (node_exporter's textfile collector reads its folder),
            written whole and atomically after every run.
    """

    textfile: Path


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    """The ``alerts:`` section: whom a run tells, and when (`rulebridge.runner.alerts`).

    Attributes:
        url_env: the variable (or secrets_file line) holding the URL the JSON summary is
            POSTed to; the URL is a secret (it often carries a token) and never logged.
        command: a program and its arguments (never a shell line), run with the summary on
            its standard input.
        on: the triggers that send an alert (`ALERT_TRIGGERS`; all of them by default).
        timeout_seconds: how long one POST, or the command, may take.
        items: how many dead letter groups, items for a person and drifted records the
            summary lists (the rest: ``rulebridge report RUN``).
    """

    url_env: str | None = None
    command: tuple[str, ...] | None = None
    on: tuple[str, ...] = ALERT_TRIGGERS
    timeout_seconds: float = 10.0
    items: int = 20

    @property
    def to(self) -> str:
        """Where alerts go: ``url``, ``command`` or ``url and command``."""
        return " and ".join(
            name for name, given in (("url", self.url_env), ("command", self.command)) if given
        )


@dataclass(frozen=True, slots=True)
class AgencyConfig:
    """A checked agency config; relative paths are resolved against the file's folder.

    `limits` bound each request and listing of the adapters (`adapters.http.Limits`, from
    ``timeout_seconds`` and ``limits:``); `snapshot_seconds` bounds the snapshot phase.
    """

    path: Path
    agency: str
    apis: dict[str, ApiConfig]
    secrets_file: Path | None
    ruleset: Path | None
    settings: Path | None
    timeout: float
    retry: RetryPolicy
    limits: Limits = field(default_factory=Limits)
    snapshot_seconds: float = DEFAULT_SNAPSHOT_SECONDS
    webhook: WebhookConfig | None = None
    metrics: MetricsConfig | None = None
    alerts: AlertsConfig | None = None

    def api(self, system: str) -> ApiConfig:
        """The config of `system`; a ValueError naming the file if it has none."""
        if system not in self.apis:
            raise ValueError(f"{self.path}: no '{system}:' section; add one to reach {system}")
        return self.apis[system]

    def auth(self, system: str) -> httpx.Auth:
        """The `httpx.Auth` for `system`, secrets read from the environment or secrets file.

        Raises:
            adapters.errors.ConfigError: a secret is not set (the message names the variable).
        """
        api = self.api(system)
        if system == "fixflo":
            return FixfloAuth(read_secret(api.env["token_env"], self.secrets_file))
        client_id = read_secret(api.env["client_id_env"], self.secrets_file)
        secret = read_secret(api.env["client_secret_env"], self.secrets_file)
        token_url = api.base_url.rstrip("/") + "/token"
        return AltoAuth(token_url, client_id, secret, api.agency_ref or "")

    def webhook_secret(self) -> str:
        """The webhook subscription's secret, from the environment or the secrets file.

        Raises:
            adapters.errors.ConfigError: there is no ``webhook:`` section, the secret is not
                set, or it is not 16 to 64 characters (Fixflo's contract); the message names
                the variable, never the value.
        """
        if self.webhook is None:
            raise ConfigError(f"{self.path}: no 'webhook:' section; add one to serve webhooks")
        name = self.webhook.secret_env
        secret = read_secret(name, self.secrets_file)
        if not 16 <= len(secret) <= 64:
            raise ConfigError(
                f"{name}: the webhook secret must be 16 to 64 characters (Fixflo's contract); "
                f"it has {len(secret)}"
            )
        return secret

    def limiter(self, system: str) -> AsyncLimiter:
        """A limiter for this agency's `system` (make one per run and share it)."""
        return make_limiter(self.api(system).per_minute)

    def client(self, system: str) -> httpx.AsyncClient:
        """A client for `system`: base URL, auth and timeout set. The caller closes it."""
        api = self.api(system)
        return httpx.AsyncClient(
            base_url=api.base_url, auth=self.auth(system), timeout=self.timeout
        )


def load_agency_config(path: str | os.PathLike[str]) -> AgencyConfig:
    """Load and check an agency config.

    Raises:
        RulesetErrors: every problem, each as ``file:line:column: code: message``.

    Example::

        config = load_agency_config("agencies/acme.yaml")
        config.api("fixflo").per_minute
        # 500.0
    """
    document = load_document(path)
    errors, _ = check_schema(document, "agency")
    if not errors:
        errors = list(_semantic_errors(document))
    if errors:
        raise RulesetErrors(errors)
    return _build(Path(path), document.data)


def _semantic_errors(document: Document) -> list[RulesetError]:
    errors = []
    for system in ("alto", "fixflo"):
        section = document.data.get(system)
        if not isinstance(section, dict):
            continue
        url = urlsplit(section["base_url"])
        if url.scheme != "https" and url.hostname not in _LOCAL:
            message = f"{system} base_url must use https (plain http only for 127.0.0.1)"
            errors.append(document.error((system, "base_url"), "insecure-url", message))
    webhook = document.data.get("webhook")
    if isinstance(webhook, dict):
        errors.extend(_webhook_errors(document, webhook))
    alerts = document.data.get("alerts")
    if isinstance(alerts, dict) and not ({"url_env", "command"} & set(alerts)):
        message = "'alerts:' needs a 'url_env:' (a URL to POST to) or a 'command:' (or both)"
        errors.append(document.error(("alerts",), "no-alert-target", message, at_key=True))
    if not any(isinstance(document.data.get(name), dict) for name in ("alto", "fixflo")):
        message = "the config reaches neither API; add an 'alto:' or a 'fixflo:' section"
        errors.append(document.error((), "no-api", message))
    return errors


def _webhook_errors(document: Document, section: dict[str, Any]) -> list[RulesetError]:
    """What the schema cannot say about ``webhook:``: a port in range, a public https URL,
    and a ``fixflo:`` section to subscribe through."""
    errors = []
    _, _, port = str(section["listen"]).rpartition(":")
    if not 0 <= int(port) <= 65535:
        message = f"port {port} is out of range (0 to 65535)"
        errors.append(document.error(("webhook", "listen"), "bad-port", message))
    url = urlsplit(section["public_url"])
    if url.scheme != "https" and url.hostname not in _LOCAL:
        message = "webhook public_url must use https (plain http only for 127.0.0.1)"
        errors.append(document.error(("webhook", "public_url"), "insecure-url", message))
    if not isinstance(document.data.get("fixflo"), dict):
        message = "a 'webhook:' section needs a 'fixflo:' section to subscribe through"
        errors.append(document.error(("webhook",), "no-fixflo", message))
    return errors


def _build(path: Path, data: dict[str, Any]) -> AgencyConfig:
    folder = path.parent

    def resolve(key: str) -> Path | None:
        return folder / data[key] if key in data else None

    apis: dict[str, ApiConfig] = {
        name: _api(name, data[name]) for name in ("alto", "fixflo") if name in data
    }
    retry, limits = data.get("retry", {}), data.get("limits", {})
    timeout = float(data.get("timeout_seconds", 30))
    return AgencyConfig(
        path=path,
        agency=data["agency"],
        apis=apis,
        secrets_file=resolve("secrets_file"),
        ruleset=resolve("ruleset"),
        settings=resolve("settings"),
        timeout=timeout,
        retry=RetryPolicy(
            attempts=int(retry.get("attempts", 8)), timeout=float(retry.get("total_seconds", 120))
        ),
        limits=_limits(limits, timeout),
        snapshot_seconds=float(limits.get("snapshot_seconds", DEFAULT_SNAPSHOT_SECONDS)),
        webhook=_webhook(data["webhook"]) if "webhook" in data else None,
        metrics=MetricsConfig(folder / data["metrics"]["textfile"]) if "metrics" in data else None,
        alerts=_alerts(data["alerts"]) if "alerts" in data else None,
    )


def _alerts(section: dict[str, Any]) -> AlertsConfig:
    command = section.get("command")
    chosen = set(section.get("on", ALERT_TRIGGERS))
    return AlertsConfig(
        url_env=section.get("url_env"),
        command=None if command is None else tuple(str(arg) for arg in command),
        on=tuple(trigger for trigger in ALERT_TRIGGERS if trigger in chosen),
        timeout_seconds=float(section.get("timeout_seconds", 10)),
        items=int(section.get("items", 20)),
    )


def _webhook(section: dict[str, Any]) -> WebhookConfig:
    host, _, port = str(section["listen"]).rpartition(":")
    return WebhookConfig(
        host=host.strip("[]"),
        port=int(port),
        public_url=str(section["public_url"]).rstrip("/"),
        secret_env=section["secret_env"],
        signature=section.get("signature", "hmac-sha256"),
        events=tuple(section.get("events", ISSUE_EVENTS)),
        workers=int(section.get("workers", 4)),
        queue_limit=int(section.get("queue_limit", 1000)),
        attempts=int(section.get("attempts", 5)),
        grace_seconds=float(section.get("grace_seconds", 20)),
    )


def _limits(section: dict[str, Any], timeout: float) -> Limits:
    """The adapters' bounds: `timeout` for a whole request, and the ``limits:`` section."""
    default = Limits()
    pages = section.get("pages_per_listing")
    megabytes = section.get("response_megabytes")
    return Limits(
        request_seconds=timeout,
        body_bytes=int(float(megabytes) * (1 << 20)) if megabytes else default.body_bytes,
        records_per_listing=int(section.get("records_per_listing", default.records_per_listing)),
        pages_per_listing=int(pages) if pages is not None else None,
    )


def _api(system: str, section: dict[str, Any]) -> ApiConfig:
    env = {key: value for key, value in section.items() if key.endswith("_env")}
    per_minute = section.get("rate_limit", {}).get("per_minute", DEFAULT_PER_MINUTE[system])
    return ApiConfig(
        system=system,
        base_url=section["base_url"],
        env=env,
        per_minute=float(per_minute),
        agency_ref=section.get("agency_ref"),
    )
