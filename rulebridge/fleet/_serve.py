"""``rulebridge fleet serve``: one HTTP server receiving Fixflo's deliveries for every agency.

Every agency of the fleet with a ``webhook:`` section is served below ``/<agency>/``:
``POST /<agency>/<path token>`` goes through that agency's
`adapters.fixflo.webhooks.WebhookReceiver` (the token, the signature, each delivery
claimed once in the agency's store) and then enqueues the reconcile of its issue on the
fleet's queue ``rulebridge-issues`` (`rulebridge.fleet.live.issue_reconcile`), through a
`dbos.DBOSClient` on the fleet's database. The server reconciles nothing itself: the
fleet's workers do, one reconcile per issue at a time.

A delivery's workflow id is ``{agency}:issue:{issue}:{digest}-{n}``: ``digest`` the
sha256 of the delivery (its action and payload), ``n`` counts the reconciles this same
delivery has started. While one is still waiting in the queue, the same delivery again
(a replay, a copy) enqueues nothing new; once it has started, the same delivery is a new
trigger (with ``RemoveBody`` every change of an issue posts the very same body) and
enqueues one more reconcile, which re-reads the issue and writes nothing the ledger holds.

Pages: ``GET /healthz`` (200 while up), ``GET /readyz`` (200 when the fleet's database
answers; a worker creates its tables, so start one first), ``GET /status`` (per agency:
deliveries by outcome, reconciles enqueued and coalesced; no personal data). SIGTERM or
SIGINT stops it.

Each agency's ``public_url`` must route to ``/<agency>`` of this server (the
subscription posts to ``public_url/<token>``).

Example::

    server = FleetServer(load_fleet(Path("fleet")), RunLog(), listen="127.0.0.1:8787")
    with server.running():
        print(server.url)
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

import uvicorn
from dbos import DBOSClient, DBOSPortableJSONSerializer, EnqueueOptions
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from adapters.fixflo.webhooks import WebhookReceiver, issue_id_of, path_token
from rulebridge._config import WebhookConfig
from rulebridge.fleet._app import ISSUES_QUEUE
from rulebridge.fleet.config import FleetAgency, FleetConfig, FleetConfigError
from rulebridge.fleet.live import ISSUE_WORKFLOW, issue_partition, issue_workflow_id
from rulebridge.fleet.worker import APP_NAME
from rulebridge.runner import RunLog, redact_personal
from rulebridge.runner.serve import bind, subscribe, uvicorn_config

__all__ = ["DEFAULT_LISTEN", "FleetServer", "delivery_digest"]

DEFAULT_LISTEN: Final = "127.0.0.1:8787"
_PAGES: Final = frozenset({"/healthz", "/readyz", "/status"})


def delivery_digest(action: str, payload: dict[str, Any]) -> str:
    """A delivery's identity: 16 hex of the sha256 of its action and payload (canonical).

    Example:
        >>> len(delivery_digest("Issue closed", {"Id": 42}))
        16
    """
    body = json.dumps([action, payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()[:16]


@dataclass
class _Agency:
    member: FleetAgency
    webhook: WebhookConfig
    receiver: WebhookReceiver
    reconciles: Counter[str] = field(default_factory=Counter)


class FleetServer:
    """The fleet's webhook server (see the module docstring).

    Args:
        fleet: the fleet; its agencies with a ``webhook:`` section are served.
        log: where the server's events go.
        listen: ``host:port`` (port 0: a free one).
        subscribe: subscribe each agency to Fixflo's webhooks at start.

    Raises:
        FleetConfigError: no agency has a ``webhook:`` section, or `listen` is not
            ``host:port``.
    """

    def __init__(
        self,
        fleet: FleetConfig,
        log: RunLog,
        *,
        listen: str = DEFAULT_LISTEN,
        subscribe: bool = True,
    ) -> None:
        self.fleet, self.log, self.subscribe = fleet, log, subscribe
        self.listen = _listen(listen)
        self.agencies: dict[str, _Agency] = {}
        self._client: DBOSClient | None = None
        self._socket: socket.socket | None = None
        self._uvicorn: Any = None
        if not any(a.config.webhook is not None for a in fleet.agencies):
            raise FleetConfigError(
                f"{fleet.folder}: no agency config has a 'webhook:' section; add one "
                "(listen, public_url, secret_env) to each agency to serve (docs/runner.md)"
            )

    @property
    def url(self) -> str:
        """The bound address, ``http://host:port``."""
        assert self._socket is not None, "not started"
        host, port = self._socket.getsockname()[:2]
        return f"http://{host}:{port}" if ":" not in host else f"http://[{host}]:{port}"

    def path_of(self, agency: str) -> str:
        """The path Fixflo posts `agency`'s deliveries to: ``/<agency>/<token>``."""
        return f"/{agency}/{path_token(self.fleet.agency(agency).config.webhook_secret())}"

    def serve_forever(self) -> int:
        """Serve in the foreground until SIGTERM/SIGINT; 0."""
        with self._prepared():
            self._uvicorn.run(sockets=[self._socket])
        return 0

    @contextlib.contextmanager
    def running(self, timeout: float = 10.0) -> Iterator[FleetServer]:
        """Serve in a background thread for the block (tests); stopped after it."""
        with self._prepared():
            thread = threading.Thread(
                target=self._uvicorn.run, kwargs={"sockets": [self._socket]}, daemon=True
            )
            thread.start()
            try:
                started = threading.Event()
                for _ in range(int(timeout / 0.02)):
                    if self._uvicorn.started:
                        started.set()
                        break
                    started.wait(0.02)
                yield self
            finally:
                self._uvicorn.should_exit = True
                thread.join(timeout)

    def stats(self) -> dict[str, Any]:
        """Per agency: deliveries by outcome, reconciles enqueued and coalesced."""
        return {
            name: {"deliveries": agency.receiver.stats, "reconciles": dict(agency.reconciles)}
            for name, agency in self.agencies.items()
        }

    @contextlib.contextmanager
    def _prepared(self) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            self._client = DBOSClient(
                system_database_url=self.fleet.database_url,
                serializer=DBOSPortableJSONSerializer(),
                application_name=APP_NAME,
            )
            stack.callback(self._client.destroy)
            for member in self.fleet.agencies:
                webhook = member.config.webhook
                if webhook is None:
                    continue
                secret = member.config.webhook_secret()
                receiver = WebhookReceiver(
                    secret,
                    self._handler(member.name),
                    store=member.store_path,
                    token=path_token(secret),
                    signature=webhook.signature,  # type: ignore[arg-type]
                    keep=timedelta(0),  # level-triggered: see the module docstring
                )
                stack.callback(receiver.close)
                self.agencies[member.name] = _Agency(member, webhook, receiver)
            self._socket = bind(self.listen)
            stack.callback(self._socket.close)
            if self.subscribe:
                self._subscribe_all()
            self._uvicorn = uvicorn.Server(uvicorn_config(self._app()))
            self.log.event("fleet serve", state="started", listen=self.url,
                           agencies=sorted(self.agencies))  # fmt: skip
            yield
            self.log.event("fleet serve", state="stopped", stats=self.stats())

    def _subscribe_all(self) -> None:
        for name, agency in self.agencies.items():
            config = agency.member.config
            target = agency.webhook.ours + path_token(config.webhook_secret())
            subscription = subscribe(
                config, config.webhook_secret(), target, self.log, agency.member.store_path
            )
            self.log.event("fleet serve", agency=name, subscribed=subscription)

    # The app ---------------------------------------------------------------------------

    def _app(self) -> Any:
        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                return
            path = scope["path"]
            if path in _PAGES:
                response = await self._page(path)
                await response(scope, receive, send)
                return
            name, _, rest = path.lstrip("/").partition("/")
            agency = self.agencies.get(name)
            if agency is None:
                await JSONResponse({"error": "not found"}, status_code=404)(scope, receive, send)
                return
            inner = dict(scope, path="/" + rest, raw_path=("/" + rest).encode())
            await agency.receiver(inner, receive, send)

        return app

    async def _page(self, path: str) -> JSONResponse:
        if path == "/healthz":
            return JSONResponse({"status": "ok"})
        if path == "/status":
            return JSONResponse({"agencies": self.stats()})
        try:
            await asyncio.to_thread(self._reachable)
        except Exception as exc:  # not ready: say why, without the URL's password
            reason = redact_personal(
                f"the fleet's database does not answer ({type(exc).__name__}); a worker "
                "(`rulebridge fleet worker`) creates its tables: start one first"
            )
            return JSONResponse({"status": "not ready", "reasons": [reason]}, status_code=503)
        return JSONResponse({"status": "ready"})

    def _reachable(self) -> None:
        assert self._client is not None
        self._client.list_workflows(limit=1, load_input=False, load_output=False)

    def _handler(self, name: str) -> Any:
        async def handle(action: str, payload: dict[str, Any]) -> None:
            issue_id = issue_id_of(action, payload)
            if issue_id is None:
                return
            digest = delivery_digest(action, payload)
            outcome = await asyncio.to_thread(self._enqueue, name, issue_id, digest, action)
            self.agencies[name].reconciles[outcome] += 1
            self.log.event("fleet serve", agency=name, issue=issue_id, reconcile=outcome)

        return handle

    def _enqueue(self, agency: str, issue_id: str, digest: str, action: str) -> str:
        """Enqueue the reconcile `digest` asks for: ``coalesced`` when the same delivery's
        reconcile still waits in the queue, else ``enqueued`` (a new workflow, or the one a
        concurrent copy enqueued a moment ago: the same id)."""
        assert self._client is not None
        prefix = issue_workflow_id(agency, issue_id, digest) + "-"
        found = self._client.list_workflows(
            workflow_id_prefix=prefix, load_input=False, load_output=False
        )
        if any(wf.status == "ENQUEUED" for wf in found):
            return "coalesced"
        started = [int(wf.workflow_id[len(prefix):]) for wf in found
                   if wf.workflow_id[len(prefix):].isdigit()]  # fmt: skip
        options: EnqueueOptions = {
            "queue_name": ISSUES_QUEUE,
            "workflow_name": ISSUE_WORKFLOW,
            "workflow_id": f"{prefix}{max(started, default=-1) + 1}",
            "queue_partition_key": issue_partition(agency, issue_id),
        }
        self._client.enqueue(options, agency, issue_id, action)
        return "enqueued"


def _listen(listen: str) -> WebhookConfig:
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise FleetConfigError(f"--listen {listen!r}: give host:port, such as {DEFAULT_LISTEN}")
    # Only host and port are used (`bind`): each agency's own section says the rest.
    return WebhookConfig(host, int(port), public_url="", secret_env="")
