"""The nightly run's snapshot phase: Alto and Fixflo read into the run's folder.

`take_snapshots` reads each system through its adapter (`rulebridge.runner.wiring`) into
``<store>-runs/<run>/alto.json`` and ``fixflo.json`` (owner-only: they hold personal data),
within the config's ``limits.snapshot_seconds``; a refused credential stops the run here,
before anything is written, and a signal stops it at the next record read. Records a reader
cannot use are kept for the report, never dropped silently. Last night's Alto tenancy
places are handed to the adapter, so tenancies whose places are known cost no request.

Example::

    loaded = take_snapshots(night)
    loaded.records["alto.inventory"]
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from adapters.http import Deadline
from engine.errors import CredentialsRefused, RecordError
from engine.snapshot import SnapshotError, iter_records
from rulebridge._snapshot_io import take_snapshot
from rulebridge._snapshots import LoadedSnapshots, load_snapshots
from rulebridge.runner._night import Night, RunFailedError
from rulebridge.runner.stop import checkpoint
from rulebridge.runner.wiring import snapshot_reader

__all__ = ["read_snapshots", "take_snapshots"]


def take_snapshots(night: Night) -> LoadedSnapshots:
    """Read Alto and Fixflo into the run's folder, within the snapshot phase's deadline; a
    refused credential stops the run. The listings' unusable items come first among the
    records the readers rejected."""
    return read_snapshots(night)[0]


def read_snapshots(night: Night) -> tuple[LoadedSnapshots, list[RecordError]]:
    """`take_snapshots`, and apart the items the listings held that the readers could not
    use (they are in no snapshot file: a step that loads the files again adds them back)."""
    for folder in (night.folder.parent, night.folder):  # owner-only: personal data
        folder.mkdir(mode=0o700, exist_ok=True)
    taken_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    seconds = night.config.snapshot_seconds
    deadline = Deadline.after(seconds, "the snapshot phase", "limits.snapshot_seconds")
    rejected: list[RecordError] = []
    paths = {}
    for system in ("alto", "fixflo"):
        api = night.config.api(system)
        # A missing secret fails here, naming it.
        places = _previous_places(night) if system == "alto" else []
        reader = snapshot_reader(night, system, deadline=deadline, rejected=rejected, places=places)
        before = len(rejected)
        path = night.folder / f"{system}.json"
        with night.log.phase(f"read {system}") as advance:
            try:
                counts = take_snapshot(
                    path,
                    system,
                    reader,
                    taken_at=taken_at,
                    agency_ref=api.agency_ref,
                    on_record=lambda _name: _checked(advance),
                )
            except CredentialsRefused as exc:
                raise RunFailedError(
                    f"preflight: {system} refused the credentials ({exc.status}); check the "
                    f"variables named under '{system}:' in {night.config.path}"
                ) from None
        night.log.event("snapshot", system=system, records=counts, rejected=len(rejected) - before)
        paths[system] = path
    loaded = load_snapshots(paths["alto"], paths["fixflo"])
    loaded.rejected[:0] = rejected
    return loaded, rejected


def _checked(advance: Callable[[int], None]) -> None:
    """At each record read: stop here if a signal asked to (`rulebridge.runner.stop`)."""
    checkpoint()
    advance(1)


def _previous_places(night: Night) -> list[dict[str, Any]]:
    """The Alto tenancy places (``tenancy_tenants``) of the latest earlier run's snapshot,
    so that tenancies whose places are all known cost no request tonight
    (`adapters.alto.AltoAdapter.remember_places`); none when there is no readable one."""
    runs = sorted(
        (p for p in night.folder.parent.iterdir() if p.is_dir() and p.name.isdigit()),
        key=lambda p: int(p.name),
    )
    earlier = [
        p for p in runs if int(p.name) < int(night.folder.name) and (p / "alto.json").is_file()
    ]
    if not earlier:
        return []
    places: list[dict[str, Any]] = []
    try:
        for item in iter_records(earlier[-1] / "alto.json", "tenancy_tenants"):
            if isinstance(item, dict):
                places.append(item)
    except (SnapshotError, OSError) as exc:
        night.log.event("snapshot", note=f"last night's tenancy places unread: {exc}")
        return []
    return places
