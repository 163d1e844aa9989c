"""`rulebridge serve`: Fixflo's webhooks reconciled into Alto within seconds.

One process per agency serves (uvicorn, on the config's ``webhook.listen``):

- ``POST /<token>``: Fixflo's deliveries (`adapters.fixflo.webhooks.WebhookReceiver`: the
  path token, then the signature, then the body; each delivery claimed once). A delivery
  is a trigger, never data: its issue id is queued (`engine.store.LiveQueue`, coalesced
  per issue, bounded: 503 with ``Retry-After`` beyond ``queue_limit``) and the reconcile
  thread (`rulebridge.runner._live.Reconciler`) re-reads the issue through the API;
- ``GET /healthz``: 200 while the server runs;
- ``GET /readyz``: 200 when subscribed, the reconcile thread alive and the queue below its
  limit; otherwise 503 with the reasons;
- ``GET /status``: the queue (pending, dead), the reconciles by fate, latency, the
  receiver's counters. No personal data.

The server refuses to start without the agency's trusted store (the nightly run made it)
and while another server of the agency runs (``serve.lock`` in the agency's folder of the
state home: not the run lock, the nightly run goes on beside the server; the two share
the per-issue leases and the rate limit). SIGTERM or SIGINT: deliveries get 503, in-flight
reconciles get ``grace_seconds``, the live run is recorded, exit 0.

Example::

    server = LiveServer(ServeOptions(config, Path("state/acme.db")), RunLog())
    with server.running():
        print(server.url)        # http://127.0.0.1:8787
    # or, in the foreground until SIGTERM:
    exit_code = LiveServer(options, RunLog()).serve_forever()
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from adapters.fixflo.webhooks import RETRY_AFTER, Busy, WebhookReceiver, issue_id_of, path_token
from engine.store import LiveQueue, Store
from rulebridge._config import AgencyConfig, WebhookConfig
from rulebridge.runner._live import Reconciler, ServeSetup
from rulebridge.runner._live_one import reconcile_live, subscribe
from rulebridge.runner._night import RunOptions
from rulebridge.runner._serve_http import Uvicorn, bind, json_logging, uvicorn_config
from rulebridge.runner._subscribe import SUBSCRIPTION_KEY, unsubscribe
from rulebridge.runner.lock import LockedError, RunLock
from rulebridge.runner.log import RunLog, redact_personal
from rulebridge.runner.nightly import AgencyRun, RunFailedError, load_agency_ruleset
from rulebridge.runner.trust import open_trusted
from rulebridge.runner.wiring import check_issue_parts

__all__ = [
    "SUBSCRIPTION_KEY",
    "LiveServer",
    "ServeOptions",
    "bind",
    "reconcile_live",
    "subscribe",
    "unsubscribe",
    "uvicorn_config",
]

_PAGES: Final = frozenset({"/healthz", "/readyz", "/status"})


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """What to serve.

    Attributes:
        config: the agency config; it must have a ``webhook:`` section.
        store_path: the agency's state store (made by its nightly run).
        state_home: the per-user state folder (default: `rulebridge.runner.home.state_home`).
        subscribe: subscribe to Fixflo's webhooks at start (off: someone else did).
    """

    config: AgencyConfig
    store_path: Path
    state_home: Path | None = None
    subscribe: bool = True

    @property
    def webhook(self) -> WebhookConfig:
        """The ``webhook:`` section; a RunFailedError naming the file without one."""
        if self.config.webhook is None:
            raise RunFailedError(
                f"{self.config.path}: no 'webhook:' section; add one (listen, public_url, "
                "secret_env) to serve Fixflo's webhooks (docs/runner.md)"
            )
        return self.config.webhook


class LiveServer:
    """The server of one agency (see the module docstring).

    Raises (from `serve_forever` and `running`):
        RunFailedError: no ``webhook:``, no ruleset, no store yet (run the nightly first).
        rulebridge.runner.lock.LockedError: another server of the agency runs.
        engine.store.StoreRefusedError: the store is not the agency's up-to-date store.
        adapters.errors.ConfigError: the secret is missing or not 16..64 characters.
    """

    def __init__(self, options: ServeOptions, log: RunLog) -> None:
        self.options, self.log = options, log
        self.webhook = options.webhook
        self.stopping = threading.Event()
        self._stop_lock = threading.Lock()
        self.reconciler: Reconciler | None = None
        self.receiver: WebhookReceiver | None = None
        self._queue_thread = ThreadPoolExecutor(1, thread_name_prefix="live-queue")
        self._queue: LiveQueue | None = None  # used in _queue_thread only
        self._socket: socket.socket | None = None
        self._uvicorn: Uvicorn | None = None
        self._stopper: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The bound address, ``http://host:port`` (the port the system picked for 0)."""
        assert self._socket is not None, "not started"
        host, port = self._socket.getsockname()[:2]
        return f"http://{host}:{port}" if ":" not in host else f"http://[{host}]:{port}"

    def webhook_path(self) -> str:
        """The path Fixflo posts to: ``/`` and the token made from the secret."""
        return "/" + path_token(self.options.config.webhook_secret())

    def idle(self) -> bool:
        """Whether nothing waits in the agency's live queue and no reconcile is running
        (what the demo, the benchmark and the tests wait for after Fixflo sent its
        deliveries)."""
        reconciler = self.reconciler
        if reconciler is None or reconciler.stats.in_flight:
            return False
        with LiveQueue.open(self.options.store_path) as queue:
            return queue.pending() == 0

    # Running ---------------------------------------------------------------------------

    def serve_forever(self) -> int:
        """Serve in the foreground until SIGTERM/SIGINT; the exit code (0, or 1 when the
        reconcile thread failed)."""
        with self._prepared():
            assert self._uvicorn is not None
            assert self._socket is not None
            self._uvicorn.run(sockets=[self._socket])
            return self._finish()

    @contextlib.contextmanager
    def running(self, timeout: float = 30.0) -> Iterator[LiveServer]:
        """Serve in a background thread for the block (tests, the demo); stopped on exit
        as by SIGTERM.

        Raises:
            RunFailedError: the server did not come up within `timeout` seconds.
        """
        with self._prepared():
            assert self._uvicorn is not None
            assert self._socket is not None
            thread = threading.Thread(
                target=self._uvicorn.run, kwargs={"sockets": [self._socket]}, daemon=True
            )
            thread.start()
            try:
                if not self.ready(timeout):
                    raise RunFailedError(
                        f"the server did not come up: {'; '.join(self._reasons())}"
                    )
                yield self
            finally:
                self.stop()
                thread.join(self.webhook.grace_seconds + timeout)
                self._finish()

    def ready(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the reconcile thread to be ready."""
        assert self.reconciler is not None
        return self.reconciler.ready.wait(timeout) and not self._reasons()

    def stop(self, sig: int | None = None) -> None:
        """Stop as SIGTERM does: deliveries get 503, in-flight reconciles get the grace,
        then uvicorn stops. Returns at once; safe from any thread, idempotent."""
        with self._stop_lock:
            if self.stopping.is_set():
                return
            self.stopping.set()
        self.log.event("serve", state="stopping", signal=sig, grace=self.webhook.grace_seconds)
        self._stopper = threading.Thread(target=self._stop_in_order, name="serve-stop")
        self._stopper.start()

    def _stop_in_order(self) -> None:
        if self.reconciler is not None:
            self.reconciler.stop(self.webhook.grace_seconds)
            self.reconciler.join()
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True

    @contextlib.contextmanager
    def _prepared(self) -> Iterator[None]:
        """Checks, locks, the store, the socket, the reconcile thread and the app; undone
        on exit."""
        config = self.options.config
        ruleset = load_agency_ruleset(config)
        check_issue_parts(ruleset)
        secret = config.webhook_secret()
        run_options = RunOptions(
            config, self.options.store_path, state_home=self.options.state_home
        )
        agency = AgencyRun.of(run_options)
        agency.home.prepare()
        lock_path = agency.home.folder / "serve.lock"
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(RunLock.for_file(lock_path))
            except LockedError:
                raise LockedError(
                    f"another `rulebridge serve` of agency {agency.identity.describe()} is "
                    f"running (lock {lock_path}); this one did nothing"
                ) from None
            self._check_store(agency)
            self._socket = bind(self.webhook)
            stack.callback(self._socket.close)
            setup = ServeSetup(
                run_options,
                ruleset,
                secret,
                subscribe=self.options.subscribe,
            )
            target = self.webhook.ours + path_token(secret)
            self.reconciler = Reconciler(setup, self.log, target_url=target)
            self.reconciler.on_end = self.stop  # it failed: stop serving (exit code 1)
            self.receiver = WebhookReceiver(
                secret,
                self._handle,
                store=self.options.store_path,
                token=path_token(secret),
                signature=self.webhook.signature,  # type: ignore[arg-type]
                # With RemoveBody, a delivery names only its issue: a later change of the
                # same issue posts the very same body, so a handled one is not remembered
                # (a replay re-reads the issue once; the queue coalesces the copies).
                keep=timedelta(0),
            )
            stack.callback(self.receiver.close)
            stack.callback(self._close_queue)
            self._uvicorn = Uvicorn(uvicorn_config(self._app()), self.stop)
            stack.callback(json_logging(self.log))
            self.reconciler.start()
            self.log.event(
                "serve", state="started", listen=self.url, subscribe=self.options.subscribe
            )
            yield

    def _check_store(self, agency: AgencyRun) -> None:
        """Refuse a missing store or one the nightly run never ran with; else trust it as
        the nightly run does (`rulebridge.runner.trust.open_trusted`)."""
        path = self.options.store_path
        if not path.is_file() or path.stat().st_size == 0:
            raise RunFailedError(
                f"{path}: no state store yet; run the nightly job first (`rulebridge run "
                f"--config {self.options.config.path}`), then start the server"
            )
        with Store.open(path) as store:
            never = store.binding() is None or store.progress().runs == 0
        if never:
            raise RunFailedError(
                f"{path}: the nightly job has not run with this store yet; run it first "
                f"(`rulebridge run --config {self.options.config.path}`)"
            )
        open_trusted(path, agency.identity, agency.home, agency.hint, None).close()

    def _finish(self) -> int:
        """Wait for the stop sequence; the exit code."""
        if self._stopper is not None:
            self._stopper.join()
        elif self.reconciler is not None:  # uvicorn ended by itself
            self.reconciler.stop(self.webhook.grace_seconds)
            self.reconciler.join()
        failed = self.reconciler.failed if self.reconciler is not None else None
        self.log.event("serve", state="stopped", error=failed)
        return 1 if failed else 0

    # The app -------------------------------------------------------------------------

    def _app(self) -> Any:
        pages = Starlette(
            routes=[
                Route("/healthz", self._healthz),
                Route("/readyz", self._readyz),
                Route("/status", self._status),
            ]
        )
        receiver = self.receiver
        assert receiver is not None

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and scope["path"] in _PAGES:
                await pages(scope, receive, send)
            else:
                await receiver(scope, receive, send)

        return app

    async def _handle(self, action: str, payload: dict[str, Any]) -> None:
        """A verified, first-seen delivery: queue its issue and wake the reconcile thread;
        Busy (503, Retry-After) while stopping or when the queue is full."""
        if self.stopping.is_set():
            raise Busy(RETRY_AFTER)
        issue_id = issue_id_of(action, payload)
        if issue_id is None:
            return  # the receiver answers for events without an issue
        outcome = await self._in_queue_thread(
            lambda queue: queue.enqueue(issue_id, action, limit=self.webhook.queue_limit)
        )
        if outcome == "full":
            self.log.event("live", issue=issue_id, queue="full")
            raise Busy(RETRY_AFTER)
        assert self.reconciler is not None
        self.reconciler.wake()

    async def _healthz(self, _request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def _readyz(self, _request: Request) -> JSONResponse:
        reasons = self._reasons()
        try:
            pending = await self._in_queue_thread(lambda queue: queue.pending())
        except Exception as exc:  # the store cannot be read: not ready, say why
            reasons.append(f"the store cannot be read ({type(exc).__name__})")
        else:
            if pending >= self.webhook.queue_limit:
                reasons.append(f"the queue is full ({pending} issues)")
        if reasons:
            return JSONResponse({"status": "not ready", "reasons": reasons}, status_code=503)
        return JSONResponse({"status": "ready"})

    def _reasons(self) -> list[str]:
        reconciler, reasons = self.reconciler, []
        if self.stopping.is_set():
            reasons.append("stopping")
        failed = reconciler.failed if reconciler is not None else None
        if reconciler is None or failed or not reconciler.is_alive():
            reasons.append(f"the reconcile thread is not running ({failed or 'stopped'})")
        elif not reconciler.ready.is_set():
            reasons.append("starting: the live run is not open yet")
        elif self.options.subscribe and reconciler.subscription is None:
            reasons.append("not subscribed to Fixflo's webhooks")
        return reasons

    async def _status(self, _request: Request) -> JSONResponse:
        def read(queue: LiveQueue) -> dict[str, Any]:
            dead = queue.live_dead()
            return {"pending": queue.pending(), "dead": len(dead), "dead_ids": [
                str(row.get("issue_id")) for row in dead[:50]]}  # fmt: skip

        reconciler = self.reconciler
        assert reconciler is not None
        assert self.receiver is not None
        try:
            queue = await self._in_queue_thread(read)
        except Exception as exc:
            queue = {"error": redact_personal(f"{type(exc).__name__}: {exc}")}
        return JSONResponse(
            {
                "agency": self.options.config.agency,
                "run": reconciler.run_id,
                "subscription": reconciler.subscription,
                "queue": queue,
                "reconciles": reconciler.stats.to_json(),
                "deliveries": dict(self.receiver.stats),
                "ready": not self._reasons(),
            }
        )

    # The queue's connection, in its own thread ------------------------------------------

    async def _in_queue_thread(self, work: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._queue_thread, self._call_queue, work)

    def _call_queue(self, work: Any) -> Any:
        if self._queue is None:
            self._queue = LiveQueue.open(self.options.store_path)
        return work(self._queue)

    def _close_queue(self) -> None:
        def close() -> None:
            if self._queue is not None:
                self._queue.close()
                self._queue = None

        with contextlib.suppress(RuntimeError):
            self._queue_thread.submit(close).result()
        self._queue_thread.shutdown(wait=True)
