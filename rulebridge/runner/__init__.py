"""The production runner: the nightly job of one agency, its lock, log and report.

The engine decides and records; the runner drives it against the real adapters (or the
fake servers on loopback) and is what ``rulebridge run`` calls; `adopt_store` rebuilds an
agency's store from its targets (``rulebridge store adopt``); `LiveServer` is the live
server of ``rulebridge serve`` (Fixflo webhooks into Alto within seconds; imported on first
use, so the nightly run does not load the web server). Its phases take the engine's
ports; `rulebridge.runner.wiring` is the one module that makes the real ones.

Example::

    outcome = run_nightly(RunOptions(config, store_path), RunLog())
"""

from typing import TYPE_CHECKING, Any

from rulebridge.runner._night import RunOptions
from rulebridge.runner.adopt import adopt_store
from rulebridge.runner.calls import ApiCalls
from rulebridge.runner.issues import ISSUES_CURSOR
from rulebridge.runner.lock import AgencyLock, LockedError, RunLock
from rulebridge.runner.log import RunLog, redact_personal
from rulebridge.runner.nightly import RunFailedError, RunOutcome, run_nightly
from rulebridge.runner.report import render_report

if TYPE_CHECKING:
    from rulebridge.runner.serve import LiveServer, ServeOptions

__all__ = [
    "ISSUES_CURSOR",
    "AgencyLock",
    "ApiCalls",
    "LiveServer",
    "LockedError",
    "RunFailedError",
    "RunLock",
    "RunLog",
    "RunOptions",
    "RunOutcome",
    "ServeOptions",
    "adopt_store",
    "redact_personal",
    "render_report",
    "run_nightly",
]


def __getattr__(name: str) -> Any:
    """The live server's names, imported on first use (uvicorn and starlette with them)."""
    if name in ("LiveServer", "ServeOptions"):
        from rulebridge.runner import serve

        return getattr(serve, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
