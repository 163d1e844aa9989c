"""Whether a run may use the store it was given: the store's agency, its progress, the targets.

A run trusts its state store to say what it already sent; a store deleted, emptied,
restored from an older backup, or replaced by a second store of the same agency would make
it send everything again. `open_trusted` opens the store only when nothing says so:

1. **Its agency.** A store is bound to the agency that first used it
   (`engine.store.AgencyIdentity`: the Alto AgencyRef and the Fixflo base URL). Another
   agency's store is refused (`StoreMismatchError`); the config's name is only a label.
2. **A note that it is behind.** A run that found in Alto a works order or document the
   store never attempted (`engine.issues.apply`) notes it; the store is refused until it
   is adopted (`StoreBehindError`).
3. **The agency's witness** (`rulebridge.runner.home`): a store with another id than the
   one the agency's last run used, or with fewer runs or effects than that run left, is
   refused; so is a missing (or empty) store when the agency has run before.
4. **The targets**, for a store that does not exist yet and no witness: before it is
   created, every Fixflo issue whose status needs a works order is looked for in Alto
   (its reference on its property, `find_history`). One found means the agency has run
   elsewhere: nothing is created or sent.

Every refusal names what was found and the command that resolves it: ``rulebridge store
adopt`` (rebuild the store from what the targets hold) or ``--store`` with the agency's
real store.

Example::

    store = open_trusted(path, identity_of(config), home, hint, probe)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from engine.errors import CredentialsRefused, NotOffered, RulebridgeError
from engine.issues import reconcile
from engine.language.ruleset import CompiledRuleset
from engine.ports import AltoHolding, IssueSource, WorksOrderLookup
from engine.store import (
    AgencyIdentity,
    Store,
    StoreBehindError,
    StoreBinding,
    StoreMismatchError,
)
from rulebridge._config import AgencyConfig
from rulebridge.runner.home import AgencyHome, Witness
from rulebridge.runner.issues import PartReader

__all__ = ["Probe", "RefusedBy", "adopt_hint", "find_history", "identity_of", "open_trusted"]

Probe = Callable[[], str | None]


def identity_of(config: AgencyConfig) -> AgencyIdentity:
    """The agency a config names: its label, Alto AgencyRef and Fixflo base URL.

    Example::

        identity_of(load_agency_config("agencies/acme.yaml")).agency
        # 'acme'
    """
    alto, fixflo = config.apis.get("alto"), config.apis.get("fixflo")
    return AgencyIdentity.of(
        config.agency,
        alto.agency_ref if alto else None,
        fixflo.base_url if fixflo else None,
    )


def adopt_hint(config_path: Path, store_path: Path) -> str:
    """The command that rebuilds `store_path` from the agency's targets."""
    return f"rulebridge store adopt --config {config_path} --store {store_path}"


def open_trusted(
    path: Path, identity: AgencyIdentity, home: AgencyHome, hint: str, probe: Probe | None
) -> Store:
    """Open the agency's store at `path`, or refuse it (see the module docstring).

    Call it holding the agency's lock (`rulebridge.runner.lock.AgencyLock`). The witness is
    written before returning, so a store created here is the agency's from now on.

    Args:
        path: the store named by ``--store`` (or the config's default).
        identity: the agency of the config.
        home: the agency's folder in the state home (its witness).
        hint: the ``rulebridge store adopt`` command for this config and store.
        probe: looks in the targets for the agency's history (`find_history`) before a
            new store is created: the evidence, or None. None: do not look.

    Raises:
        StoreMismatchError: the store belongs to another agency.
        StoreBehindError: the store is behind (noted, older than the witness, missing with a
            witness, or missing while the targets hold the agency's history), or is not
            the store the agency's last run used.
        StoreError: the file cannot be opened.
    """
    witness = home.witness()
    if _missing(path):
        store = _create(path, identity, witness, hint, probe)
    else:
        store = Store.open(path)
        try:
            binding = store.binding()
            if binding is None and store.progress().runs == 0:  # made, never run: new
                store.close()
                store = _create(path, identity, witness, hint, probe)
            else:
                _check(store, binding, identity, witness, hint)
        except BaseException:
            store.close()
            raise
    binding = store.binding()
    assert binding is not None  # bound by _create or _check
    home.write_witness(binding, store.progress(), path)
    return store


def _missing(path: Path) -> bool:
    return not path.exists() or (path.is_file() and path.stat().st_size == 0)


def _create(
    path: Path,
    identity: AgencyIdentity,
    witness: Witness | None,
    hint: str,
    probe: Probe | None,
) -> Store:
    """A new store for an agency that has no history: neither a witness nor in the targets."""
    if witness is not None:
        problem = (
            f"is missing or empty, but agency {identity.describe()} has run before: its last "
            f"run used the store at {witness.store} (store id {witness.store_id}, run "
            f"{witness.runs}, {witness.written}). Nothing was done"
        )
        fix = f"if that store was moved, pass --store with its path; if it is lost: {hint}"
        raise StoreBehindError(str(path), problem, fix)
    evidence = probe() if probe is not None else None
    if evidence is not None:
        problem = (
            f"does not exist, and {evidence}: agency {identity.describe()} has run before "
            "with a store this machine does not know. Nothing was created or sent"
        )
        fix = f"pass --store with the agency's store, or rebuild one from the targets: {hint}"
        raise StoreBehindError(str(path), problem, fix)
    store = Store.open(path)
    try:
        store.bind(identity, origin="new")
    except BaseException:
        store.close()
        raise
    return store


def _check(
    store: Store,
    binding: StoreBinding | None,
    identity: AgencyIdentity,
    witness: Witness | None,
    hint: str,
) -> None:
    """Refuse an existing store that is not the agency's up-to-date store; bind one from
    before migration 4."""
    where = str(store.path)
    if binding is None:
        if witness is not None:  # the agency's store is bound; an unbound one is another
            _refuse_other(store, witness, "(never bound to an agency)", hint)
        store.bind(identity, origin="upgraded")
        return
    differ = binding.identity.differences(identity)
    if differ:
        raise StoreMismatchError(
            where,
            f"belongs to agency {binding.identity.describe()}, not to "
            f"{identity.describe()}: {' and '.join(differ)} differ. Nothing was done",
            "run with that agency's own store (--store FILE); a store is never shared "
            "between agencies",
        )
    if binding.behind is not None:
        raise StoreBehindError(
            where,
            f"was found behind what the targets hold ({binding.behind}). Nothing was done",
            f"rebuild what it is missing from the targets: {hint}",
        )
    if witness is not None:
        _against_witness(store, binding, witness, hint)
    if binding.identity.agency != identity.agency:
        store.relabel(identity.agency)


def _against_witness(store: Store, binding: StoreBinding, witness: Witness, hint: str) -> None:
    if witness.store_id != binding.store_id:
        _refuse_other(store, witness, f"(store id {binding.store_id})", hint)
    progress = store.progress()
    if progress.behind(witness.progress):
        raise StoreBehindError(
            str(store.path),
            f"is older than the agency's last run: it holds {progress.runs} runs and "
            f"{progress.effects} effects, that run ({witness.written}) left "
            f"{witness.runs} runs and {witness.effects} effects. It was restored from an "
            "older backup or emptied; running it would send again what is already in the "
            "targets. Nothing was done",
            f"rebuild what it is missing from the targets: {hint}",
        )


def _refuse_other(store: Store, witness: Witness, this: str, hint: str) -> None:
    raise StoreBehindError(
        str(store.path),
        f"is not the agency's store: its last run ({witness.written}) used the store at "
        f"{witness.store} (store id {witness.store_id}), and this file is another store "
        f"{this}. Nothing was done",
        f"run with --store {witness.store}; to make this file the agency's store instead "
        f"(the other one is then refused): {hint}",
    )


class RefusedBy(RulebridgeError):
    """`system` refused the credentials while the targets were searched (`find_history`)."""

    def __init__(self, system: str, status: int | None) -> None:
        super().__init__(f"{system} refused the credentials ({status})")
        self.system, self.status = system, status


async def find_history(
    ruleset: CompiledRuleset, issues: IssueSource, alto: WorksOrderLookup
) -> str | None:
    """Evidence that the agency has run before: a works order in Alto recognised by the
    identity of one a reconcile of a Fixflo issue against nothing would create, or None.

    Reads every issue's id, each issue, and asks Alto for the works orders of each
    issue's property that needs one; stops at the first found. An issue Fixflo will not
    give, or a property Alto cannot be asked about, is passed over (the issue phase looks
    again before it creates anything).

    Raises:
        RefusedBy: Fixflo or Alto refused the credentials.
        PortError: the issues could not be listed, or Alto could not be asked (the run
            stops: a store is not created unless the targets were checked).
    """
    if ruleset.lifecycle is None:
        return None
    try:
        ids = [issue_id async for issue_id in issues.issue_ids(since=None)]
    except CredentialsRefused as exc:
        raise RefusedBy("fixflo", exc.status) from None
    for issue_id in ids:
        for property_id, identity in await _owed_orders(ruleset, issues, issue_id):
            try:
                found = await alto.find_works_order(property_id, identity)
            except CredentialsRefused as exc:
                raise RefusedBy("alto", exc.status) from None
            except NotOffered:
                continue
            if found is not None:
                return (
                    f"Alto already holds works order {found.get('id')} on property "
                    f"{property_id} for Fixflo issue {issue_id} (its "
                    f"{', '.join(sorted(identity))} are the issue's)"
                )
    return None


async def _owed_orders(
    ruleset: CompiledRuleset, issues: IssueSource, issue_id: str
) -> list[tuple[str, Mapping[str, Any]]]:
    """(property id, identity) of the works order the issue needs in Alto, if any: the
    issue is read with the parts the lifecycle reads at its status."""
    lifecycle = ruleset.lifecycle
    try:
        issue = await issues.read_issue(issue_id)
        parts = lifecycle.parts_read(lifecycle.status_of(issue) or "") if lifecycle else None
        if parts and isinstance(issues, PartReader):
            issue = await issues.read_parts(issue, parts)
        elif parts:
            issue = await issues.read_issue(issue_id, parts)
        ops = reconcile(ruleset, issue, AltoHolding()).operations
    except CredentialsRefused as exc:
        raise RefusedBy("fixflo", exc.status) from None
    except (RulebridgeError, ValueError, KeyError):
        return []
    return [
        (str(op.fields["propertyId"]), op.target.get("identity") or {})
        for op in ops
        if (op.op, op.kind) == ("create", "works_order") and "propertyId" in op.fields
    ]
