"""Run a fake server for real: uvicorn on 127.0.0.1, in a thread or in the foreground."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

from simulator.fake._faults import ConnectionDropped

__all__ = ["LOOPBACK", "run", "serving"]

LOOPBACK = "127.0.0.1"


def _config(app: ASGIApp, port: int, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app, host=LOOPBACK, port=port, log_level=log_level, log_config=None, lifespan="off"
    )


@contextlib.contextmanager
def serving(app: ASGIApp, *, port: int = 0, timeout: float = 10.0) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 in a background thread; yield its base URL; stop on exit.

    Port 0 picks a free port. The server stops when the block ends, however it ends.

    Example::

        with serving(FakeAlto(50).app) as url:
            print(url)  # http://127.0.0.1:53127
    """
    server = uvicorn.Server(_config(app, port, "critical"))
    thread = threading.Thread(target=server.run, name="fake-server", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the fake server did not start on {LOOPBACK}:{port}")
            time.sleep(0.01)
        bound = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://{LOOPBACK}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout)


class _HideInjectedDrops(logging.Filter):
    """Injected dropped connections are intended: keep their tracebacks out of the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, ConnectionDropped)


def run(app: ASGIApp, *, port: int) -> None:
    """Serve `app` on 127.0.0.1:`port` in the foreground until interrupted."""
    logging.getLogger("uvicorn.error").addFilter(_HideInjectedDrops())
    uvicorn.Server(_config(app, port, "info")).run()
