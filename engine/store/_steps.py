"""A run as resumable steps (migration 7): the agency-night a run belongs to, and each
step's recorded result (`RunSteps`).

A durable engine (the fleet) runs one agency-night as steps, possibly in different
processes: each step attaches to the night's run (`RunSteps.run_of_night`,
`RunSteps.continue_run`), does its work and records its result (`RunSteps.record_step`,
JSON, once per run and step). A step already recorded is not done again: its result is
read back (`RunSteps.step_results`). Apply batches are named ``apply:0``, ``apply:1``...

Nothing personal is stored by the store itself: the results are what the runner records
(counts, warnings with personal data masked, ids).

Example::

    run = store.start_run("alto-fixflo", "1", "ab12", night="acme:2026-12-07")
    store.record_step(run.id, "check", {"run_id": run.id})
    store.step_results(run.id)  # {'check': {'run_id': 1}}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from engine.store._base import StoreBase
from engine.store.files import StoreError
from engine.store.records import Run, dumps

__all__ = ["RunSteps", "run_from_row"]

_FINISHED = ("succeeded", "failed")


def run_from_row(row: Mapping[str, Any]) -> Run:
    """The `Run` of a ``runs`` row (JSON columns decoded)."""
    values = dict(row)
    values["dry_run"] = bool(values["dry_run"])
    values["counts"] = json.loads(values["counts"])
    values["report"] = None if values.get("report") is None else json.loads(values["report"])
    return Run(**values)


class RunSteps(StoreBase):
    """The runs an engine started per agency-night, and their steps' results."""

    def run_of_night(self, night: str) -> Run | None:
        """The latest run started for `night` (the engine's id of an agency-night, e.g.
        ``acme:2026-12-07``), or None when none was.

        Example::

            store.run_of_night("acme:2026-12-07")  # None before its first step
        """
        row = self._one("SELECT id FROM runs WHERE night = ? ORDER BY id DESC LIMIT 1", [night])
        return None if row is None else self._run_row(row["id"])

    def continue_run(self, run_id: int) -> Run:
        """Make run `run_id` the current run again, so that this connection's effects
        belong to it (a step of the run in another process than its first).

        An interrupted run (its process killed, or stopped by a signal) is ``running``
        again; any other run of its kind left ``running`` becomes ``interrupted``, as
        `start_run` does. Call it holding the agency's lock.

        Raises:
            StoreError: there is no such run, or it has finished (succeeded or failed):
                a finished run is not written to again.

        Example::

            store.continue_run(run.id).status  # 'running'
        """
        run = self._run_row(run_id)
        if run.status in _FINISHED:
            raise StoreError(
                str(self.path),
                f"run {run_id} has finished ({run.status}) and cannot be continued",
                "start a new run (a finished night is not run again)",
            )
        with self.transaction():
            self._db.execute(
                "UPDATE runs SET status = 'interrupted' "
                "WHERE status = 'running' AND kind = ? AND id != ?",
                [run.kind, run_id],
            )
            self._db.execute(
                "UPDATE runs SET status = 'running', finished = NULL WHERE id = ?", [run_id]
            )
        self._run, self._ruleset_hash, self._run_kind = run_id, run.ruleset_hash, run.kind
        return self._run_row(run_id)

    def record_step(self, run_id: int, step: str, result: Mapping[str, Any]) -> bool:
        """Record `result` (JSON) as the result of `step` of run `run_id`. A step is
        recorded once: a second record of it changes nothing and returns False.

        Raises:
            StoreError: there is no such run.

        Example::

            store.record_step(run.id, "apply:0", {"operations": 500})  # True
        """
        self._run_row(run_id)  # no such run: its error
        with self.transaction():
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO run_steps (run_id, step, result, recorded) "
                "VALUES (?, ?, ?, ?)",
                [run_id, step, dumps(dict(result)), self._now()],
            )
        return cursor.rowcount == 1

    def step_results(self, run_id: int) -> dict[str, dict[str, Any]]:
        """The recorded results of run `run_id`'s steps, by step name, in the order they
        were recorded (empty for a run of no steps, or no such run).

        Example::

            list(store.step_results(run.id))  # ['check', 'snapshot', 'plan', 'apply:0']
        """
        rows = self._all(
            "SELECT step, result FROM run_steps WHERE run_id = ? ORDER BY recorded, rowid",
            [run_id],
        )
        return {row["step"]: json.loads(row["result"]) for row in rows}

    def _run_row(self, run_id: int) -> Run:
        row = self._one("SELECT * FROM runs WHERE id = ?", [run_id])
        if row is None:
            raise StoreError(str(self.path), f"has no run {run_id}", "see `rulebridge history`")
        return run_from_row(row)
