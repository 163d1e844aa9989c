"""`rulebridge fake`: serve a fake Alto or Fixflo with a generated agency on 127.0.0.1."""

from __future__ import annotations

import click

from rulebridge.cli._help import CONTEXT
from rulebridge.cli._options import bounded
from simulator.fake import FakeAlto, FakeFixflo, Faults, parse_faults, run

__all__ = ["fake"]


@click.command("fake", context_settings=CONTEXT)
@click.argument("system", type=click.Choice(["alto", "fixflo"]))
@click.option("--port", type=click.IntRange(1, 65535), default=8765, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True, help="The agency's seed.")
@bounded("--size", 1, 200_000, 200, "The generated agency's number of properties.")
@click.option(
    "--faults",
    "spec",
    default="",
    help="Faults to inject, e.g. 'all=0.1' or '429=0.05,lost@POST /work-orders=0.2'.",
)
@click.option(
    "--retry-after", type=float, default=1.0, show_default=True, help="Seconds a 429 asks for."
)
def fake(system: str, port: int, seed: int, size: int, spec: str, retry_after: float) -> None:
    """Serve a fake SYSTEM (alto or fixflo) API on 127.0.0.1 only, until interrupted.

    Alto's client id and secret are printed; Fixflo's base URL ends in /api/v2. Fault kinds:
    429, 500, 502, 503, slow, drop, errors (Fixflo 200 with Errors), lost (the write lands,
    the answer does not), all; and, never picked by all, trickle (a byte of the answer every
    100 ms) and loop (a list links back to the page asked for).

    Example:

        rulebridge fake fixflo --port 8766 --seed 7 --size 2000 --faults all=0.1
    """
    try:
        rules = parse_faults(spec)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from exc
    faults = Faults(rules, seed=seed, retry_after=retry_after)
    if system == "alto":
        alto = FakeAlto(size, seed, faults=faults)
        click.echo(f"Alto on http://127.0.0.1:{port}  AgencyRef {alto.agency_ref}")
        click.echo(f"client id {alto.client_id}  client secret {alto.client_secret}")
        run(alto.app, port=port)
    else:
        fixflo = FakeFixflo(size, seed, faults=faults)
        click.echo(f"Fixflo on http://127.0.0.1:{port}/api/v2  token {fixflo.token}")
        run(fixflo.app, port=port)
