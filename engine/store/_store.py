"""The state store: one SQLite file per agency holding everything a run must remember.

Runs, operations and their status, the id map, per-issue reconcile state, cursors, dead
letters and an append-only audit log (DESIGN.md section 6). The file is in WAL mode,
created 0600 in a folder others cannot read; its schema is applied by numbered migrations
(`engine.store.migrations`) and every change is one transaction (``BEGIN IMMEDIATE``).

**The exactly-once contract (intent before effect).** For every call with an effect:

1. ``intent = store.record_intent(op)`` *before* the call. It commits the operation as
   ``in_flight`` and says what to do: ``call``; ``verify`` (an earlier attempt was left
   in flight by a crash, so the call may have happened: look in the target for a record
   carrying the operation's reference before calling again); ``skip`` (already done); or
   ``dead`` (dead-lettered: not called until retried).
2. Make the call (or find the existing record).
3. ``store.record_effect(op, result)`` *after* it, which marks the operation ``done`` and
   appends its audit row in one transaction. Put the ledger updates (`map_id`,
   `put_issue_state`) in the same ``with store.transaction():`` block, so a crash leaves
   either all of them or none.

A crash between 1 and 3 leaves the operation ``in_flight``; the next run's
`record_intent` answers ``verify``. An effect with no intent is refused, and a second
`record_effect` of a done key is a no-op returning False (one audit row per effect).
Creates, attachments and charges (``create``, ``attach``, ``post``) happen once per key,
ever; updates, archives and links set a state and may be applied again by a later run.

**What is stored.** The operation as its plan carries it (fields, reasons), ids, hashes
and error texts; never credentials, raw snapshots or the records a target returns.
Callers pass error texts already redacted.

Example::

    with Store.open(tmp / "agency.db") as store:
        run = store.start_run("alto-fixflo", "1", "sha256:...")
        if store.record_intent(op).action == "call":
            store.record_effect(op, EffectResult(target_id="42"))
        store.finish_run("succeeded")
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Iterable, Mapping
from typing import Any, Literal

from engine.explain import Because
from engine.store._leases import MAX_ERROR, Leases
from engine.store._steps import RunSteps, run_from_row
from engine.store.files import StoreError
from engine.store.records import (
    ONCE_OPS,
    DeadLetter,
    EffectResult,
    Intent,
    OpStatus,
    Run,
    RunKind,
    RunStatus,
    StoredOperation,
    dumps,
)

__all__ = ["Store"]

_MAX_ERROR = MAX_ERROR


class Store(Leases, RunSteps):
    """An open state store. Use `Store.open`; close it (or use ``with``) when done."""

    # Runs ------------------------------------------------------------------------------

    def start_run(
        self,
        ruleset_name: str,
        ruleset_version: str,
        ruleset_hash: str,
        *,
        dry_run: bool = False,
        kind: RunKind = "night",
        night: str | None = None,
    ) -> Run:
        """Record a new run; later calls on this store belong to it until `finish_run`.
        `night`: the id a durable engine gives the agency-night the run is for (its
        steps find the run again with `run_of_night`); None for a run of its own.

        Runs of the same `kind` left ``running`` by a killed process become
        ``interrupted`` (a nightly run and the live server run side by side: neither
        touches the other's run). Call it while holding the lock that keeps runs of that
        kind apart (the agency's run lock; the server's ``serve.lock``).

        Example::

            store.start_run("alto-fixflo", "1", "ab12").status  # 'running'
        """
        with self.transaction():
            # A run of this kind still 'running' was killed (a lock keeps such runs apart).
            self._db.execute(
                "UPDATE runs SET status = 'interrupted' WHERE status = 'running' AND kind = ?",
                [kind],
            )
            cursor = self._db.execute(
                "INSERT INTO runs (started, status, ruleset_name, ruleset_version, "
                "ruleset_hash, dry_run, kind, night) VALUES (?, 'running', ?, ?, ?, ?, ?, ?)",
                [
                    self._now(),
                    ruleset_name,
                    str(ruleset_version),
                    ruleset_hash,
                    int(dry_run),
                    kind,
                    night,
                ],
            )
        self._run, self._ruleset_hash = cursor.lastrowid, ruleset_hash
        self._run_kind = kind
        return self.run(self._require_run())

    def finish_run(
        self,
        status: RunStatus,
        counts: Mapping[str, Mapping[str, int]] | None = None,
        *,
        report: Mapping[str, Any] | None = None,
    ) -> Run:
        """Close the current run with `status`; `counts` default to its done operations
        per kind and action; `report` (JSON) is kept for ``rulebridge report``."""
        run_id = self._require_run()
        if counts is None:
            counts = self._counts(run_id)
        with self.transaction():
            self._db.execute(
                "UPDATE runs SET finished = ?, status = ?, counts = ?, report = ? WHERE id = ?",
                [
                    self._now(),
                    status,
                    dumps(counts),
                    None if report is None else dumps(report),
                    run_id,
                ],
            )
        self._run = None
        return self.run(run_id)

    def update_report(self, run_id: int, report: Mapping[str, Any]) -> Run:
        """Replace the report of finished run `run_id` (what a run learns after it is
        recorded, such as whether its alert was sent: `rulebridge.runner.publish`).

        Raises:
            StoreError: there is no such run, or it has not finished.

        Example::

            store.update_report(run.id, {**run.report, "alert": {"sent": True}})
        """
        with self.transaction():
            cursor = self._db.execute(
                "UPDATE runs SET report = ? WHERE id = ? AND finished IS NOT NULL",
                [dumps(report), run_id],
            )
        if cursor.rowcount != 1:
            self.run(run_id)  # no such run: its error
            raise StoreError(
                str(self.path), f"run {run_id} has not finished", "finish it first (finish_run)"
            )
        return self.run(run_id)

    def _counts(self, run_id: int) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        for row in self._all(
            "SELECT kind, op, count(*) AS n FROM audit WHERE run_id = ? GROUP BY kind, op",
            [run_id],
        ):
            counts.setdefault(row["kind"], {})[row["op"]] = row["n"]
        return counts

    def runs(self, limit: int | None = None) -> list[Run]:
        """The runs, newest first (for ``rulebridge history``): every one, or the `limit`
        newest (a store keeps every run and its report: a year of nights and live runs is
        hundreds of reports, read only as far as asked).

        Example::

            store.runs(limit=30)[0].id  # the latest run
        """
        rows = self._all(
            "SELECT * FROM runs ORDER BY id DESC LIMIT ?", [-1 if limit is None else limit]
        )
        return [_run(row) for row in rows]

    def run(self, run_id: int) -> Run:
        """One run (for ``rulebridge report RUN``); `StoreError` if there is none.

        A run not yet finished reports the effects recorded so far as its counts.
        """
        row = self._one("SELECT * FROM runs WHERE id = ?", [run_id])
        if row is None:
            raise StoreError(str(self.path), f"has no run {run_id}", "see `rulebridge history`")
        if row["finished"] is None:
            row["counts"] = dumps(self._counts(run_id))
        return _run(row)

    # Operations ------------------------------------------------------------------------

    def record_plan(self, ops: Iterable[StoredOperation]) -> int:
        """Record planned operations (status ``planned``); known keys are left as they are.

        Returns how many were new.
        """
        run_id, now, new = self._require_run(), self._now(), 0
        with self.transaction():
            for op in ops:
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO operations (idempotency_key, run_id, op, kind, status, "
                    "generation, operation, updated) VALUES (?, ?, ?, ?, 'planned', 1, ?, ?)",
                    [op.idempotency_key, run_id, op.op, op.kind, dumps(op.to_json()), now],
                )
                new += cursor.rowcount
        return new

    def record_intent(self, op: StoredOperation) -> Intent:
        """Commit the intent to perform `op` *before* the call; the `Intent` says what to do.

        A dead-lettered operation answers ``dead`` (nothing recorded): it waits for
        `retry_dead_letter`, and the run goes on without it.

        Example::

            store.record_intent(op).action  # 'call' the first time
        """
        run_id, key = self._require_run(), op.idempotency_key
        with self.transaction():
            row = self._one("SELECT * FROM operations WHERE idempotency_key = ?", [key])
            if row is not None and row["status"] == "dead":
                return Intent(key, "dead", row["attempts"])
            done = self._once_done(key) if op.op in ONCE_OPS else None
            if done is not None:
                return Intent(key, "skip", 0, done)
            if (
                row is not None
                and row["status"] == "done"
                and row["run_id"] == run_id
                and self._run_kind != "live"
            ):  # a night reads an issue once: a change seen later that night waits for the
                # next; a live run lasts all day, one reconcile after another (each of an
                # issue by one worker at a time), so an issue's later change is sent now
                return Intent(key, "skip", 0, _result(row["result"]))
            action: Literal["call", "verify"] = (
                "verify" if row is not None and row["status"] == "in_flight" else "call"
            )
            attempts = (row["attempts"] if row and row["status"] != "done" else 0) + 1
            generation = 1 if row is None else row["generation"] + (row["status"] == "done")
            self._db.execute(
                "INSERT OR REPLACE INTO operations (idempotency_key, run_id, op, kind, status, "
                "generation, attempts, operation, result, last_error, updated) "
                "VALUES (?, ?, ?, ?, 'in_flight', ?, ?, ?, NULL, ?, ?)",
                [
                    key,
                    run_id,
                    op.op,
                    op.kind,
                    generation,
                    attempts,
                    dumps(op.to_json()),
                    row["last_error"] if row else None,
                    self._now(),
                ],
            )
        return Intent(key, action, attempts)

    def _once_done(self, key: str) -> EffectResult | None:
        row = self._one(
            "SELECT result FROM audit WHERE idempotency_key = ? AND op IN (?, ?, ?) "
            "ORDER BY id LIMIT 1",
            [key, *sorted(ONCE_OPS)],
        )
        return None if row is None else (_result(row["result"]) or EffectResult())

    def record_effect(self, op: StoredOperation, result: EffectResult | None = None) -> bool:
        """Record that `op`'s call took effect, *after* it: ``done`` plus one audit row.

        Returns False (and changes nothing) when this intent is already done.

        Raises:
            StoreError: no intent was recorded for the operation, or the intent was for
                another action under the same key.

        Example::

            store.record_effect(op, EffectResult(target_id="42"))  # True
        """
        run_id, key = self._require_run(), op.idempotency_key
        with self.transaction():
            row = self._one("SELECT * FROM operations WHERE idempotency_key = ?", [key])
            if row is not None and row["status"] == "done":
                return False
            if row is None or row["status"] != "in_flight":
                raise StoreError(
                    str(self.path),
                    f"an effect of {key} was recorded without an intent",
                    "call record_intent() before making the call",
                )
            if row["op"] != op.op:
                raise StoreError(
                    str(self.path),
                    f"the intent for {key} was {row['op']!r}, not {op.op!r}",
                    "record the effect of the operation whose intent was recorded",
                )
            result_text = dumps((result or EffectResult()).to_json())
            now = self._now()
            self._db.execute(
                "UPDATE operations SET status = 'done', run_id = ?, result = ?, updated = ? "
                "WHERE idempotency_key = ?",
                [run_id, result_text, now, key],
            )
            self._db.execute(
                "INSERT INTO audit (at, run_id, idempotency_key, generation, op, kind, "
                "operation, result, because, ruleset_hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [
                    now,
                    run_id,
                    key,
                    row["generation"],
                    op.op,
                    op.kind,
                    dumps(op.to_json()),
                    result_text,
                    dumps([item.to_json() for item in op.because]),
                    self._ruleset_hash,
                ],
            )
        return True

    def mark_failed(self, op: StoredOperation, error: str) -> None:
        """The call failed and surely took no effect (the target refused it): ``failed``,
        called again by the next intent. When the outcome is unknown (a timeout, a lost
        response), do not call this: leave the operation ``in_flight`` so the next intent
        answers ``verify``.

        Example::

            store.mark_failed(op, "HTTP 422: Name is required")
        """
        self._set_status(op.idempotency_key, "failed", error)

    def _set_status(self, key: str, status: OpStatus, error: str | None) -> dict[str, Any]:
        with self.transaction():
            row = self._one("SELECT * FROM operations WHERE idempotency_key = ?", [key])
            if row is None or row["status"] == "done":
                raise StoreError(
                    str(self.path),
                    f"operation {key} is {row['status'] if row else 'unknown'}",
                    "only an operation with a recorded intent that is not done can fail",
                )
            self._db.execute(
                "UPDATE operations SET status = ?, last_error = ?, updated = ? "
                "WHERE idempotency_key = ?",
                [status, (error or "")[:_MAX_ERROR] or None, self._now(), key],
            )
        return row

    def operation_status(self, key: str) -> OpStatus | None:
        """The status of the operation with idempotency key `key` (None: never recorded)."""
        row = self._one("SELECT status FROM operations WHERE idempotency_key = ?", [key])
        return None if row is None else row["status"]

    def settle_in_flight(self, keep: Collection[str], kinds: Collection[str]) -> int:
        """Close in-flight operations of `kinds` that a new plan no longer holds.

        An operation cut off by a crash stays ``in_flight`` so the next apply verifies it.
        When the next plan, made from the target as it now is, no longer asks for it (it
        landed, or the source changed), nothing will verify it: it becomes ``failed`` with
        the reason, and is never called again under that key. Returns how many.

        Example::

            store.settle_in_flight({op.idempotency_key for op in plan.operations},
                                   {"property", "landlord"})  # 0
        """
        wanted, settled = set(keep), 0
        marks = ",".join("?" for _ in kinds) or "NULL"
        rows = self._all(
            f"SELECT idempotency_key FROM operations WHERE status = 'in_flight' "  # noqa: S608
            f"AND kind IN ({marks})",
            list(kinds),
        )
        for row in rows:
            if row["idempotency_key"] not in wanted:
                self._set_status(
                    row["idempotency_key"],
                    "failed",
                    "superseded: a later plan, made from the target as it then was, "
                    "no longer holds this operation",
                )
                settled += 1
        return settled

    def requeued(self, kinds: Collection[str]) -> list[dict[str, Any]]:
        """Operations of `kinds` a person queued again (`retry_dead_letter`) that no run has
        tried since, or found in the target (`resolve_dead_letter` with ``landed``) since
        the last successful run (dry runs aside), as their JSON: the runner revisits their
        issues.

        Example::

            [op["issue_id"] for op in store.requeued({"charge"})]  # ['I17']
        """
        marks = ",".join("?" for _ in kinds) or "NULL"
        rows = self._all(
            f"SELECT operation FROM operations WHERE kind IN ({marks}) AND ("  # noqa: S608
            "(status = 'planned' AND idempotency_key IN "
            "(SELECT idempotency_key FROM dead_letters WHERE retried IS NOT NULL)) "
            "OR (status = 'done' AND idempotency_key IN (SELECT idempotency_key "
            "FROM dead_letters AS d WHERE resolved IS NOT NULL AND NOT EXISTS (SELECT 1 "
            "FROM runs WHERE started > d.resolved AND status = 'succeeded' AND dry_run = 0)))"
            ") ORDER BY updated",
            list(kinds),
        )
        return [json.loads(row["operation"]) for row in rows]

    def settle(self, key: str, reason: str) -> bool:
        """Close a ``planned`` or ``in_flight`` operation nothing will call again as
        ``failed`` with `reason` (e.g. a queued retry its issue no longer needs).
        Returns whether it was open."""
        if self.operation_status(key) not in ("planned", "in_flight"):
            return False
        self._set_status(key, "failed", reason)
        return True

    def in_flight(self) -> list[dict[str, Any]]:
        """Operations whose outcome is unknown (intent without effect), as plan JSON."""
        rows = self._all("SELECT operation FROM operations WHERE status = 'in_flight'")
        return [json.loads(row["operation"]) for row in rows]

    # Dead letters ----------------------------------------------------------------------

    def dead_letter(
        self, op: StoredOperation, reason: str, *, error: str | None = None, retryable: bool
    ) -> DeadLetter:
        """Give up on `op` with `reason`; the run goes on. Listed by `dead_letters`.

        Example::

            store.dead_letter(op, "property 7 is gone", error="HTTP 404", retryable=False)
        """
        run_id = self._require_run()
        with self.transaction():
            if self.operation_status(op.idempotency_key) is None:
                self.record_plan([op])
            row = self._set_status(op.idempotency_key, "dead", error)
            cursor = self._db.execute(
                "INSERT INTO dead_letters (idempotency_key, run_id, operation, reason, "
                "attempts, last_error, retryable, created) VALUES (?,?,?,?,?,?,?,?)",
                [
                    op.idempotency_key,
                    run_id,
                    dumps(op.to_json()),
                    reason,
                    row["attempts"],
                    (error or row["last_error"] or "")[:_MAX_ERROR] or None,
                    int(retryable),
                    self._now(),
                ],
            )
        return self._dead(cursor.lastrowid)

    def dead_letters(self, *, include_retried: bool = False) -> list[DeadLetter]:
        """Open dead letters (neither retried nor resolved), oldest first; every one,
        retried and resolved included, with `include_retried`."""
        where = "" if include_retried else "WHERE retried IS NULL AND resolved IS NULL"
        rows = self._all(f"SELECT * FROM dead_letters {where} ORDER BY id")  # noqa: S608
        return [_dead(row) for row in rows]

    def _dead(self, letter_id: int | None) -> DeadLetter:
        row = self._one("SELECT * FROM dead_letters WHERE id = ?", [letter_id])
        if row is None:
            raise StoreError(
                str(self.path), f"has no dead letter {letter_id}", "see `rulebridge deadletters`"
            )
        return _dead(row)

    def retry_dead_letter(self, letter_id: int) -> dict[str, Any]:
        """Put a dead letter's operation back to ``planned``; returns it as plan JSON."""
        letter = self._dead(letter_id)
        if letter.retried is not None:
            raise StoreError(
                str(self.path), f"dead letter {letter_id} was already retried", "list them again"
            )
        with self.transaction():
            self._db.execute(
                "UPDATE dead_letters SET retried = ? WHERE id = ?", [self._now(), letter_id]
            )
            self._db.execute(
                "UPDATE operations SET status = 'planned', attempts = 0, updated = ? "
                "WHERE idempotency_key = ?",
                [self._now(), letter.idempotency_key],
            )
        return dict(letter.operation)

    def resolve_dead_letter(self, letter_id: int, note: str, *, landed: bool) -> dict[str, Any]:
        """Close an open dead letter a person dealt with by hand; returns its operation (JSON).

        With `landed`, the person found the write in the target (a document or charge whose
        answer was lost where Alto offers no lookup): the operation becomes ``done`` with an
        audit row naming the person's resolution, and the issue's `IssueState` gains the
        document or charge, so its next reconcile owes nothing for it (the next run reads
        the issue again, wherever the cursor is). Without it (dealt with otherwise, or not
        needed), the operation becomes ``failed``: a later plan that still holds it calls
        it again. One transaction.

        Raises:
            StoreError: no such letter; it was already retried or resolved; `note` is
                empty; or `landed` for an operation other than a document or charge (the
                target's id for it is unknown: retry it, or resolve it without `landed`).

        Example::

            store.resolve_dead_letter(3, "found in Alto", landed=True)["kind"]  # 'document'
        """
        note = note.strip()
        with self.transaction():
            letter = self._dead(letter_id)
            key = self._resolvable(letter, note, landed=landed)
            now = self._now()
            self._db.execute(
                "UPDATE dead_letters SET resolved = ?, resolution = ? WHERE id = ?",
                [now, note, letter_id],
            )
            if landed:
                self._landed(letter, note, now)
            else:
                self._db.execute(
                    "UPDATE operations SET status = 'failed', last_error = ?, updated = ? "
                    "WHERE idempotency_key = ?",
                    [f"resolved by a person: {note}"[:_MAX_ERROR], now, key],
                )
        return dict(letter.operation)

    def _resolvable(self, letter: DeadLetter, note: str, *, landed: bool) -> str:
        """The letter's key when it may be resolved so; `StoreError` saying why not."""
        number, path = letter.id, str(self.path)
        if letter.retried is not None:
            raise StoreError(path, f"dead letter {number} was already retried", "list them again")
        if letter.resolved is not None:
            problem = f"dead letter {number} was already resolved ({letter.resolution})"
            raise StoreError(path, problem, "list them again")
        if not note:
            raise StoreError(
                path, f"resolving dead letter {number} needs a note", "say what was found or done"
            )
        status = self.operation_status(letter.idempotency_key)
        if status != "dead":
            problem = f"the operation of dead letter {number} is {status}, not dead"
            raise StoreError(path, problem, "list the dead letters again")
        operation = letter.operation
        if landed and _landed_in(operation) is None:
            what = f"{operation.get('op')} {operation.get('kind')}"
            raise StoreError(
                path,
                f"dead letter {number} ({what}) cannot be recorded as landed: the target's id "
                "for it is unknown (only a document or charge can be)",
                f"retry it (`rulebridge deadletters --retry {number}`) or resolve it "
                "without --landed",
            )
        return letter.idempotency_key

    def _landed(self, letter: DeadLetter, note: str, now: str) -> None:
        """Record the write a person found in the target: ``done``, the audit row, and
        the issue's ledger state."""
        key, operation = letter.idempotency_key, letter.operation
        row = self._one("SELECT * FROM operations WHERE idempotency_key = ?", [key])
        run = self._one("SELECT ruleset_hash FROM runs WHERE id = ?", [letter.run_id])
        found = _landed_in(operation)
        if row is None or run is None or found is None:  # `_resolvable` checked them
            raise AssertionError(key)
        result = dumps({"resolved": note})
        because = Because("person", "dead_letter", letter.id, note, True)
        self._db.execute(
            "UPDATE operations SET status = 'done', result = ?, updated = ? "
            "WHERE idempotency_key = ?",
            [result, now, key],
        )
        self._db.execute(
            "INSERT INTO audit (at, run_id, idempotency_key, generation, op, kind, "
            "operation, result, because, ruleset_hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                now,
                letter.run_id,
                key,
                row["generation"],
                row["op"],
                row["kind"],
                dumps(dict(operation)),
                result,
                dumps([because.to_json()]),
                run["ruleset_hash"],
            ],
        )
        state = self.issue_state(str(operation["issue_id"]))
        column, name = found
        if column == "documents":
            state = dataclasses.replace(state, documents=state.documents | {name})
        else:
            state = dataclasses.replace(state, charges=state.charges | {name})
        self.put_issue_state(state)

    def audit(self, run_id: int | None = None) -> list[dict[str, Any]]:
        """Audit rows (all, or one run's), oldest first, JSON columns decoded."""
        where, params = ("WHERE run_id = ?", [run_id]) if run_id is not None else ("", [])
        rows = self._all(f"SELECT * FROM audit {where} ORDER BY id", params)  # noqa: S608
        for row in rows:
            for column in ("operation", "result", "because"):
                row[column] = json.loads(row[column]) if row[column] is not None else None
        return rows


def _result(text: str | None) -> EffectResult | None:
    if text is None:
        return None
    value = json.loads(text)  # a person's resolution carries no target id
    return EffectResult(value.get("target_id"), value.get("target_ref"))


def _landed_in(operation: Mapping[str, Any]) -> tuple[Literal["documents", "charges"], str] | None:
    """Where a lifecycle write a person found in Alto goes in its issue's `IssueState`, and
    the name it is held under (as `engine.issues.apply` records it); None for other writes."""
    name, fields = operation.get("name"), operation.get("fields") or {}
    if operation.get("issue_id") is None or name is None:
        return None
    if (operation.get("op"), operation.get("kind")) == ("attach", "document"):
        return "documents", str(fields.get("name", name))
    if (operation.get("op"), operation.get("kind")) == ("post", "charge"):
        return "charges", str(name)
    return None


_run = run_from_row


def _dead(row: Mapping[str, Any]) -> DeadLetter:
    values = dict(row)
    values["operation"] = json.loads(values["operation"])
    values["retryable"] = bool(values["retryable"])
    return DeadLetter(**values)
