"""`rulebridge serve --config AGENCY.yaml`: Fixflo webhooks into Alto within seconds
(see `rulebridge.runner.serve`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from rulebridge._config import load_agency_config
from rulebridge.cli._help import CONTEXT
from rulebridge.cli._options import AGENCY, STORE, default_store, failing_cleanly
from rulebridge.runner import RunLog
from rulebridge.runner.serve import LiveServer, ServeOptions, unsubscribe

__all__ = ["serve_command"]


@click.command("serve", context_settings=CONTEXT)
@AGENCY
@STORE
@click.option(
    "--state-home",
    type=click.Path(file_okay=False, path_type=Path),
    help="The per-user state folder holding the agency's locks (default: "
    "$RULEBRIDGE_STATE_HOME, else $XDG_STATE_HOME/rulebridge).",
)
@click.option(
    "--no-subscribe",
    is_flag=True,
    help="Do not subscribe to Fixflo's webhooks at start (the subscription exists already).",
)
@click.option(
    "--unsubscribe",
    "remove",
    is_flag=True,
    help="Remove this server's Fixflo subscriptions (those posting to webhook.public_url) "
    "and exit; other integrations' subscriptions are left alone.",
)
def serve_command(
    config_path: Path,
    store_path: Path | None,
    state_home: Path | None,
    no_subscribe: bool,
    remove: bool,
) -> None:
    """Serve Fixflo's webhooks for one agency: each issue change reaches Alto within seconds.

    Subscribes to Fixflo's issue events (the config's 'webhook:' section), listens on
    webhook.listen and reconciles each issue a delivery names with the nightly job's own
    code, ruleset and ledger: a delivery is a trigger, the issue is always read again.
    The nightly job stays the safety net and runs beside the server. GET /healthz,
    /readyz and /status; JSON log lines on standard error. SIGTERM or Ctrl-C: in-flight
    reconciles get webhook.grace_seconds, then it exits. Exit codes: 0 stopped cleanly
    (SIGTERM or Ctrl-C), 1 the server could not start or its reconcile thread failed (the
    message says why), 64 usage error.

    Example:

        rulebridge serve --config agencies/acme.yaml
    """
    with failing_cleanly():
        config = load_agency_config(config_path)
        if remove:
            with RunLog(terminal=False) as log:  # the libraries' records as JSON lines too
                removed = unsubscribe(config, log)
            click.echo(f"removed {len(removed)} subscription(s): {', '.join(removed) or 'none'}")
            return
        options = ServeOptions(
            config,
            store_path or default_store(config_path),
            state_home=state_home,
            subscribe=not no_subscribe,
        )
        code = LiveServer(options, RunLog(terminal=False)).serve_forever()
    sys.exit(code)
