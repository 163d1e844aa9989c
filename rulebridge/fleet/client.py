"""The fleet's database from outside a worker: enqueue nights, read workflows.

A `dbos.DBOSClient` talks only to the queues' database: it runs no workflow and takes no
work, so ``fleet run --no-wait``, ``fleet status`` and ``fleet serve`` use it while the
workers do the nights.

Example::

    with fleet_client(fleet) as client:
        enqueue_nights(client, fleet, date(2026, 12, 7))
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date

from dbos import DBOSClient, DBOSPortableJSONSerializer

from rulebridge.fleet._app import NIGHT_WORKFLOW, NIGHTS_QUEUE, night_id
from rulebridge.fleet.config import FleetConfig, FleetConfigError
from rulebridge.fleet.worker import APP_NAME
from rulebridge.runner.ratelimit import redact_url

__all__ = ["enqueue_nights", "fleet_client"]


@contextlib.contextmanager
def fleet_client(fleet: FleetConfig) -> Iterator[DBOSClient]:
    """A client of `fleet`'s queues' database, closed after the block.

    Raises:
        FleetConfigError: the database cannot be reached, or no worker has created it yet.
    """
    try:
        client = DBOSClient(
            system_database_url=fleet.database_url,
            serializer=DBOSPortableJSONSerializer(),
            application_name=APP_NAME,
        )
        client.list_queues()  # a database no worker created fails here, not later
    except Exception as exc:
        first = (str(exc).splitlines() or [""])[0].replace(fleet.database_url, "")
        raise FleetConfigError(
            f"the fleet's database {redact_url(fleet.database_url)} cannot be used "
            f"({type(exc).__name__}: {first[:200]}); check it is reachable, and that a worker "
            "has started on it once (`rulebridge fleet worker` or `rulebridge fleet run` "
            "creates its tables)"
        ) from None
    try:
        yield client
    finally:
        client.destroy()


def enqueue_nights(
    client: DBOSClient, fleet: FleetConfig, night: date, agencies: list[str] | None = None
) -> list[str]:
    """Enqueue `night` for `agencies` (default: all) through `client`; the workflow ids.
    A night already enqueued (or done) is left as it is: the same id is the same night."""
    names = agencies or [agency.name for agency in fleet.agencies]
    ids = []
    for name in names:
        workflow = night_id(name, night)
        client.enqueue(
            {
                "queue_name": NIGHTS_QUEUE,
                "workflow_name": NIGHT_WORKFLOW,
                "workflow_id": workflow,
                "queue_partition_key": name,
                "application_name": APP_NAME,
            },
            name,
            night.isoformat(),
        )
        ids.append(workflow)
    return ids
