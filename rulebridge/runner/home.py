"""The per-user state folder: one subfolder per agency, whatever file its store is.

``$RULEBRIDGE_STATE_HOME``, else ``$XDG_STATE_HOME/rulebridge``, else
``~/.local/state/rulebridge`` holds ``agencies/<key>/`` for each agency (the key hashes its
Alto AgencyRef and Fixflo base URL, `engine.store.AgencyIdentity.key`), created 0700:

- ``run.lock``: the agency's run lock (`rulebridge.runner.lock.AgencyLock`), so two runs of
  one agency exclude each other even with two different ``--store`` files;
- ``rate-<system>.sqlite``: the agency's rate limit for one API, shared by the nightly run
  and the live server (`rulebridge.runner.ratelimit.SharedLimiter`; request times only);
- ``witness.json``: the agency's store as its last run left it: the store's id and path,
  its latest run and effect (`engine.store.Progress`). A run refuses a store with another
  id, a store behind the witness (restored from an older backup, emptied), and a missing
  store when the witness says the agency has run before (`rulebridge.runner.trust`).

The witness only ever lags the store (it is written after the store), so it never refuses
a store that is up to date. It holds no personal data and no credentials.

Example::

    home = AgencyHome(state_home(), identity)
    home.witness()
    # Witness(store_id='3f2a...', store='/srv/rulebridge/agencies/state/acme.db', ...)
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from engine.store import AgencyIdentity, Progress, StoreBinding

__all__ = ["STATE_HOME_ENV", "AgencyHome", "Witness", "state_home"]

STATE_HOME_ENV: Final = "RULEBRIDGE_STATE_HOME"
_WITNESS: Final = "witness.json"


def state_home() -> Path:
    """The per-user state folder (see the module docstring for the order it is looked for).

    Example::

        state_home()  # with RULEBRIDGE_STATE_HOME=/srv/rulebridge/state
        # PosixPath('/srv/rulebridge/state')
    """
    named = os.environ.get(STATE_HOME_ENV)
    if named:
        return Path(named)
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "state"
    return base / "rulebridge"


@dataclass(frozen=True, slots=True)
class Witness:
    """The agency's store as its last run left it.

    Attributes:
        store_id: the store's own id (`engine.store.StoreBinding.store_id`).
        store: the store's absolute path then.
        runs: its latest run id.
        effects: its latest audit row id.
        written: when (ISO 8601 UTC).
    """

    store_id: str
    store: str
    runs: int
    effects: int
    written: str

    @property
    def progress(self) -> Progress:
        """How far the store had got."""
        return Progress(self.runs, self.effects)


class AgencyHome:
    """One agency's folder in the state home: its run lock and its store's witness."""

    def __init__(self, home: Path, identity: AgencyIdentity) -> None:
        self.identity = identity
        self.folder = home / "agencies" / identity.key

    @property
    def lock_path(self) -> Path:
        """The agency's run lock file."""
        return self.folder / "run.lock"

    def rate_path(self, system: str) -> Path:
        """The file of the agency's rate limit for `system` (``alto``, ``fixflo``), shared
        by every process calling that API for the agency."""
        return self.folder / f"rate-{system}.sqlite"

    def prepare(self) -> None:
        """Create the folder (0700) and its parents."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)

    def witness(self) -> Witness | None:
        """The agency's last run's account of its store; None if the agency never ran here
        (or the file is unreadable: the targets' checks still apply)."""
        try:
            data = json.loads((self.folder / _WITNESS).read_text("utf-8"))
            return Witness(**{name: data[name] for name in Witness.__slots__})
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write_witness(self, binding: StoreBinding, progress: Progress, store: Path) -> Witness:
        """Record the store as it is now (atomically, owner-only)."""
        self.prepare()
        witness = Witness(
            binding.store_id,
            str(store.resolve()),
            progress.runs,
            progress.effects,
            datetime.now(UTC).isoformat(timespec="seconds"),
        )
        partial = self.folder / (_WITNESS + ".partial")
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(asdict(witness) | {"agency": self.identity.agency}, handle, indent=2)
        partial.replace(self.folder / _WITNESS)
        return witness
