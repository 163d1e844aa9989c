"""Which agency a state store belongs to, how far it has got, and the refusals that follow.

A store is bound to one agency the first time a run uses it (migration 4). The agency is
known by the systems it writes to, not by the name its config gives it: the Alto
``AgencyRef`` and the Fixflo base URL (an agency's own domain). The config's ``agency:``
name is kept as a label; renaming it does not make another agency. A run refuses a store
bound to another agency, a store found behind what the targets hold, and a store older than
the agency's last run (`rulebridge.runner.trust` decides; this module names the facts)::

    StoreError
    └── StoreRefusedError       this store may not be used for this agency now
        ├── StoreMismatchError  it belongs to another agency
        └── StoreBehindError    the targets, or the agency's last run, show more than it knows

Example:
    >>> acme = AgencyIdentity.of("acme", "9B6C0D1E", "https://Acme.fixflo.com/api/v2/")
    >>> acme.fixflo_url
    'https://acme.fixflo.com/api/v2'
    >>> acme.key == AgencyIdentity.of("acme-ltd", "9b6c0d1e", "https://acme.fixflo.com/api/v2").key
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from engine.canonical import content_hash
from engine.store.files import StoreError

__all__ = [
    "AgencyIdentity",
    "BindingOrigin",
    "Progress",
    "StoreBehindError",
    "StoreBinding",
    "StoreMismatchError",
    "StoreRefusedError",
]

BindingOrigin = Literal["new", "adopted", "upgraded"]


class StoreRefusedError(StoreError):
    """This store may not be used for this agency now; nothing was done.

    ``RulebridgeError`` > ``StoreError`` > ``StoreRefusedError``; `problem` says what was
    found, `fix` the command that resolves it.
    """


class StoreMismatchError(StoreRefusedError):
    """The store belongs to another agency (another Alto AgencyRef or Fixflo URL)."""


class StoreBehindError(StoreRefusedError):
    """The store knows less than the targets or the agency's last run show.

    Raised when a target holds a record the runner made that the store has no record of
    (a works order carrying an issue's reference, a document on a works order), when the
    store is older than the agency's last run, and when it is missing while the agency has
    run before. Running it would send again what is already there.
    """


@dataclass(frozen=True, slots=True)
class AgencyIdentity:
    """An agency as its targets know it.

    Attributes:
        agency: the config's ``agency:`` name (a label, shown in messages).
        alto_agency_ref: the Alto ``AgencyRef`` (a GUID, lower case), or None without Alto.
        fixflo_url: the Fixflo base URL (scheme and host lower case, no trailing slash),
            or None without Fixflo.
    """

    agency: str
    alto_agency_ref: str | None
    fixflo_url: str | None

    @classmethod
    def of(cls, agency: str, alto_agency_ref: str | None, fixflo_url: str | None) -> AgencyIdentity:
        """The identity with its parts normalised, so spellings of one agency compare equal."""
        ref = alto_agency_ref.strip().lower() if alto_agency_ref else None
        return cls(agency, ref or None, _normal_url(fixflo_url) if fixflo_url else None)

    @property
    def key(self) -> str:
        """A stable name for the agency (hex): the Alto AgencyRef and the Fixflo URL hashed.

        The label is left out: renaming the config's agency keeps its store, lock and
        witness.
        """
        return content_hash([self.alto_agency_ref, self.fixflo_url], 32)

    def describe(self) -> str:
        """``'acme' (Alto AgencyRef 9b6c..., Fixflo https://...)``, for messages."""
        parts = [
            f"Alto AgencyRef {self.alto_agency_ref or '(none)'}",
            f"Fixflo {self.fixflo_url or '(none)'}",
        ]
        return f"{self.agency!r} ({', '.join(parts)})"

    def differences(self, other: AgencyIdentity) -> list[str]:
        """What tells `other` apart from this agency, in words (empty: the same agency).

        Example:
            >>> AgencyIdentity.of("a", "1", None).differences(AgencyIdentity.of("b", "2", None))
            ['the Alto AgencyRef']
        """
        found = []
        if self.alto_agency_ref != other.alto_agency_ref:
            found.append("the Alto AgencyRef")
        if self.fixflo_url != other.fixflo_url:
            found.append("the Fixflo base URL")
        return found


def _normal_url(url: str) -> str:
    parts = urlsplit(url.strip())
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), parts.query, "")
    )


@dataclass(frozen=True, slots=True)
class StoreBinding:
    """The agency a store belongs to, and how it came to.

    Attributes:
        identity: the agency.
        store_id: this store's own id (random, made when it was first bound); a second
            store of the same agency has another.
        bound: when the store was bound (ISO 8601 UTC).
        origin: ``new`` (first run of an agency whose targets showed no history),
            ``adopted`` (rebuilt from the targets by ``rulebridge store adopt``), or
            ``upgraded`` (a store from before migration 4, bound on its first run since).
        behind: what a run found the targets hold that the store does not know; the store
            is refused until it is adopted again. None when nothing was found.
    """

    identity: AgencyIdentity
    store_id: str
    bound: str
    origin: BindingOrigin
    behind: str | None = None


@dataclass(frozen=True, slots=True, order=True)
class Progress:
    """How far a store has got: its latest run and its latest recorded effect.

    Both only grow (ids are never reused), so a store with less than the agency's last run
    recorded is older than that run: restored from a backup, or emptied.

    Example:
        >>> Progress(runs=3, effects=40).behind(Progress(runs=4, effects=40))
        True
    """

    runs: int
    effects: int

    def behind(self, other: Progress) -> bool:
        """Whether this progress is short of `other` in runs or in effects."""
        return self.runs < other.runs or self.effects < other.effects
