"""The server's HTTP side: its socket, uvicorn with the server's signal handling, JSON logs.

Example::

    sock = bind(config.webhook)
    Uvicorn(uvicorn_config(app), on_signal=server.stop).run(sockets=[sock])
"""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn

from rulebridge._config import WebhookConfig
from rulebridge.runner.log import RunLog, configure
from rulebridge.runner.nightly import RunFailedError

__all__ = ["Uvicorn", "bind", "json_logging", "uvicorn_config"]


class Uvicorn(uvicorn.Server):
    """uvicorn, its signals routed to the server's graceful stop (never re-raised: exit 0)."""

    def __init__(self, config: uvicorn.Config, on_signal: Callable[[int], None]) -> None:
        super().__init__(config)
        self._on_signal = on_signal
        self._signalled = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """First signal: stop gracefully (`on_signal`); a second SIGINT (Ctrl-C again):
        stop serving HTTP now (in-flight reconciles still end within the grace)."""
        if self._signalled and sig == signal.SIGINT:
            self.should_exit = self.force_exit = True
        self._signalled = True
        self._on_signal(sig)


def bind(webhook: WebhookConfig) -> socket.socket:
    """The listening socket on ``listen`` (port 0: a free one), or a RunFailedError."""
    family = socket.AF_INET6 if ":" in webhook.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((webhook.host, webhook.port))
    except OSError as exc:
        sock.close()
        raise RunFailedError(
            f"cannot listen on {webhook.listen} ({exc.strerror}); change 'webhook.listen' or "
            "stop what uses it"
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def uvicorn_config(app: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="off", log_level="warning"
    )


def json_logging(log: RunLog) -> Callable[[], None]:
    """Make `log` the server's log: every record (the server's events, uvicorn's,
    stamina's retries, httpx's requests) one JSON line, as `rulebridge run` writes them
    (`rulebridge.runner.log.configure`); returns what undoes it."""
    return configure(log)
