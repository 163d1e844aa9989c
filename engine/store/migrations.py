"""The state store's schema as numbered migrations, and the code that applies them.

Modelled on sqlite-utils' ``migrations.py`` but numbered rather than named: migration *n*
runs once, after *n - 1*, inside one ``BEGIN IMMEDIATE`` transaction together with its row
in the ``migrations`` table, so two processes opening a new file at once cannot both apply
it. A file whose ``migrations`` table names a number this code does not know was written
by a newer rulebridge and is refused rather than guessed at.

Example:
    >>> [number for number, _, _ in MIGRATIONS]
    [1, 2, 3, 4, 5, 6, 7]

Numbers need not be contiguous: each is applied once, in order, when the file lacks it, so a
migration numbered below the file's highest (one merged later from a parallel branch) still
runs on files that already have the higher ones.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from sqlite_utils import Database

__all__ = ["APPLICATION_ID", "MIGRATIONS", "latest", "migrate"]

# PRAGMA application_id marks the file as a rulebridge store ("RBst").
APPLICATION_ID = 0x52427374

_INITIAL = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started TEXT NOT NULL,
    finished TEXT,
    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
    ruleset_name TEXT NOT NULL,
    ruleset_version TEXT NOT NULL,
    ruleset_hash TEXT NOT NULL,
    dry_run INTEGER NOT NULL DEFAULT 0,
    counts TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE operations (
    idempotency_key TEXT PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    op TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('planned', 'in_flight', 'done', 'failed', 'dead')),
    generation INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    operation TEXT NOT NULL,
    result TEXT,
    last_error TEXT,
    updated TEXT NOT NULL
);
CREATE INDEX operations_status ON operations(status);
CREATE INDEX operations_run ON operations(run_id);
CREATE TABLE id_map (
    entity TEXT NOT NULL,
    source_id TEXT NOT NULL,
    target_id TEXT,
    target_ref TEXT,
    content_hash TEXT,
    last_run INTEGER REFERENCES runs(id),
    PRIMARY KEY (entity, source_id)
);
CREATE INDEX id_map_target ON id_map(entity, target_id);
CREATE TABLE issue_state (
    issue_id TEXT PRIMARY KEY,
    works_order_id TEXT,
    works_order TEXT,
    documents TEXT NOT NULL DEFAULT '[]',
    charges TEXT NOT NULL DEFAULT '[]',
    revision TEXT,
    last_run INTEGER REFERENCES runs(id)
);
CREATE TABLE cursors (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    run_id INTEGER REFERENCES runs(id),
    updated TEXT NOT NULL
);
CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    operation TEXT NOT NULL,
    reason TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT,
    retryable INTEGER NOT NULL,
    created TEXT NOT NULL,
    retried TEXT
);
CREATE INDEX dead_letters_open ON dead_letters(retried);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    idempotency_key TEXT NOT NULL,
    generation INTEGER NOT NULL,
    op TEXT NOT NULL,
    kind TEXT NOT NULL,
    operation TEXT NOT NULL,
    result TEXT,
    because TEXT NOT NULL,
    ruleset_hash TEXT NOT NULL,
    UNIQUE (idempotency_key, generation)
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: rows cannot be updated'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: rows cannot be deleted'); END;
"""


def _initial(db: Database) -> None:
    for statement in _statements(_INITIAL):
        db.execute(statement)


def _statements(script: str) -> list[str]:
    """Split a script on statement ends, keeping trigger bodies whole."""
    statements, current = [], ""
    for line in script.strip().splitlines():
        current += line + "\n"
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return statements


def _run_reports(db: Database) -> None:
    """A run's report (JSON), written once when the run finishes (`rulebridge report`)."""
    db.execute("ALTER TABLE runs ADD COLUMN report TEXT")


def _resolved_dead_letters(db: Database) -> None:
    """A dead letter a person closed by hand: when (`resolved`) and their note
    (`resolution`); `Store.resolve_dead_letter`."""
    db.execute("ALTER TABLE dead_letters ADD COLUMN resolved TEXT")
    db.execute("ALTER TABLE dead_letters ADD COLUMN resolution TEXT")


_AGENCY = """
CREATE TABLE agency (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    store_id TEXT NOT NULL,
    agency TEXT NOT NULL,
    alto_agency_ref TEXT,
    fixflo_url TEXT,
    identity TEXT NOT NULL,
    origin TEXT NOT NULL CHECK (origin IN ('new', 'adopted', 'upgraded')),
    bound TEXT NOT NULL,
    behind TEXT
)
"""


def _agency_identity(db: Database) -> None:
    """The agency the store belongs to (one row): its identity, the store's own id, how it
    was bound, and what a run found the targets hold that the store does not know
    (`engine.store.identity`). A store from before has no row until its next run binds it."""
    db.execute(_AGENCY)


_WEBHOOK_DELIVERIES = """
CREATE TABLE webhook_deliveries (
    digest TEXT PRIMARY KEY,
    action TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('claimed', 'handled')),
    claim TEXT NOT NULL,
    claimed_at TEXT NOT NULL,
    handled_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX webhook_deliveries_handled ON webhook_deliveries(status, handled_at);
"""


def _webhook_deliveries(db: Database) -> None:
    """Webhook deliveries claimed before their handler runs and kept once handled
    (`engine.store.deliveries.Deliveries`): one row per delivery digest."""
    for statement in _statements(_WEBHOOK_DELIVERIES):
        db.execute(statement)


_LIVE_SYNC = """
ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'night' CHECK (kind IN ('night', 'live'));
CREATE TABLE live_queue (
    issue_id TEXT PRIMARY KEY,
    event TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'leased', 'dead')),
    received_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    holder TEXT,
    token TEXT,
    lease_until TEXT,
    again INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX live_queue_due ON live_queue(status, due_at);
CREATE TABLE live_handled (
    issue_id TEXT PRIMARY KEY,
    revision TEXT NOT NULL,
    handled_at TEXT NOT NULL
);
CREATE TABLE live_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE issue_leases (
    issue_id TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until TEXT NOT NULL
);
"""


def _live_sync(db: Database) -> None:
    """The live server (`rulebridge serve`) beside the nightly run: a run's ``kind``
    (``night`` or ``live``); the queue of issues webhooks asked to reconcile
    (`engine.store.live.LiveQueue`), the revision each issue was last reconciled at live,
    the server's own settings (``live_meta``), and the per-issue lease the nightly run and
    the server take before writing an issue (`engine.store.Store.lease_issue`)."""
    for statement in _statements(_LIVE_SYNC):
        db.execute(statement)


_RUN_STEPS = """
ALTER TABLE runs ADD COLUMN night TEXT;
CREATE INDEX runs_night ON runs(night);
CREATE TABLE run_steps (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    step TEXT NOT NULL,
    result TEXT NOT NULL,
    recorded TEXT NOT NULL,
    PRIMARY KEY (run_id, step)
);
"""


def _run_steps(db: Database) -> None:
    """A run as resumable steps (`engine.store._steps.RunSteps`): the agency-night a durable
    engine started a run for (``runs.night``; NULL for other runs), and each step's result
    (``run_steps``, once per run and step)."""
    for statement in _statements(_RUN_STEPS):
        db.execute(statement)


SchemaMigration = tuple[int, str, Callable[[Database], None]]
MIGRATIONS: tuple[SchemaMigration, ...] = (
    (1, "initial schema", _initial),
    (2, "run reports", _run_reports),
    (3, "resolved dead letters", _resolved_dead_letters),
    (4, "agency identity", _agency_identity),
    (5, "webhook deliveries", _webhook_deliveries),
    (6, "live sync", _live_sync),
    (7, "run steps", _run_steps),
)


def latest() -> int:
    """The highest migration number this code knows."""
    return MIGRATIONS[-1][0]


def applied(db: Database) -> list[int]:
    """The numbers already applied to `db`, in order (empty for a new file)."""
    if not db["migrations"].exists():
        return []
    return [row[0] for row in db.execute("SELECT number FROM migrations ORDER BY number")]


def migrate(db: Database, now: str) -> list[int]:
    """Apply every pending migration in order, each in its own transaction.

    Returns the numbers applied (empty when the file was up to date). Raises
    `ValueError` naming the unknown numbers when the file is newer than this code.
    """
    known = {number for number, _, _ in MIGRATIONS}
    have = set(applied(db))
    if have > known:
        raise ValueError(sorted(have - known))
    if have == known:
        return []  # up to date: no write lock taken
    done = []
    for number, name, step in MIGRATIONS:
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            _ensure_table(db)
            have = set(applied(db))
            unknown = sorted(have - known)
            if unknown:
                raise ValueError(unknown)
            if number not in have:
                step(db)
                db.execute(
                    "INSERT INTO migrations (number, name, applied_at) VALUES (?, ?, ?)",
                    [number, name, now],
                )
                db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                done.append(number)
        except BaseException:
            db.rollback()
            raise
        db.commit()
    return done


def _ensure_table(db: Database) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS migrations ("
        "number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
