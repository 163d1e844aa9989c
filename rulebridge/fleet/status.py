"""``rulebridge fleet status``: per agency, its last night, how it ended, what runs and waits.

Read from the queues' database through a `dbos.DBOSClient` (no worker is started) and the
workers' leases. Per agency:

- **last night**: the newest finished night workflow (``{agency}:{night}``), its outcome:
  the run's status and exit code (`rulebridge._exits`), or the workflow's error;
- **running**: the night in progress, the worker running it and the steps recorded so far;
- **queued**: nights waiting (for the agency's night in progress, or a free worker).

No personal data: workflow ids are agency names and dates.

Example::

    rows, workers = fleet_status(load_fleet(Path("fleet")))
    rows[0]["last_night"]
    # {'night': 'acme:2026-12-06', 'status': 'succeeded', 'exit_code': 2, ...}
"""

from __future__ import annotations

import time
from typing import Any

from dbos import DBOSClient

from rulebridge.fleet._app import NIGHT_WORKFLOW
from rulebridge.fleet.client import fleet_client
from rulebridge.fleet.config import FleetConfig
from rulebridge.fleet.leases import Leases
from rulebridge.fleet.worker import TERMINAL

__all__ = ["fleet_status", "night_outcome"]


def fleet_status(fleet: FleetConfig) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The status of every agency of `fleet`, and the workers' leases.

    Raises:
        FleetConfigError: the queues' database has no fleet yet or cannot be read.
    """
    with fleet_client(fleet) as client:
        workflows = client.list_workflows(name=NIGHT_WORKFLOW, load_input=False)
        rows = [_row(client, agency.name, workflows) for agency in fleet.agencies]
    leases = Leases(fleet.database_url)
    try:
        now = time.time()
        workers = [lease.to_json(now) for lease in leases.leases()]
    finally:
        leases.close()
    return rows, workers


def _row(client: DBOSClient, agency: str, workflows: list[Any]) -> dict[str, Any]:
    mine = sorted(
        (wf for wf in workflows if wf.workflow_id.startswith(f"{agency}:")),
        key=lambda wf: wf.workflow_id,
    )
    finished = [wf for wf in mine if wf.status in TERMINAL]
    running = [wf for wf in mine if wf.status == "PENDING"]
    queued = [wf.workflow_id for wf in mine if wf.status in ("ENQUEUED", "DELAYED")]
    return {
        "agency": agency,
        "last_night": night_outcome(finished[-1].workflow_id, finished[-1]) if finished else None,
        "running": [
            {
                "night": wf.workflow_id,
                "worker": wf.executor_id,
                "steps_done": len(client.list_workflow_steps(wf.workflow_id)),
            }
            for wf in running
        ],
        "queued": queued,
    }


def night_outcome(workflow_id: str, wf: Any) -> dict[str, Any]:
    """How night `workflow_id` ended, from its DBOS status `wf` (None: not found): the run's
    status, exit code, changes and error, or the workflow's error with exit code 1."""
    if wf is not None and wf.status == "SUCCESS":
        output = wf.output if isinstance(wf.output, dict) else {}
        return {
            "night": workflow_id,
            "status": output.get("status"),
            "exit_code": output.get("exit_code"),
            "changes": output.get("changes"),
            "error": output.get("error"),
        }
    return {
        "night": workflow_id,
        "status": "missing" if wf is None else wf.status.lower(),
        "exit_code": 1,
        "changes": None,
        "error": str(wf.error)[:500] if wf is not None and wf.error is not None else None,
    }
