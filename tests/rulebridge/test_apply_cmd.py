"""`rulebridge apply` and `rulebridge deadletters` against the fake Fixflo on loopback."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine.store import IdMapEntry, Store
from engine.sync.apply import stamp_plan
from engine.sync.plan import Plan
from rulebridge.cli import main
from rulebridge.cli._options import default_store
from rulebridge.cli.apply import apply_command
from rulebridge.cli.deadletters import deadletters
from simulator.fake import serving
from tests.engine.apply_world import RULESET, World, make_world, writes


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


@pytest.fixture
def config(tmp_path: Path, world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("ACME_FIXFLO", world.fake.token)
    with serving(world.fake.app) as url:
        path = tmp_path / "acme.yaml"
        path.write_text(
            f"agency: acme\nruleset: {RULESET}\nfixflo:\n  base_url: {url}/api/v2\n"
            "  token_env: ACME_FIXFLO\n",
            "utf-8",
        )
        yield path


def _save(tmp_path: Path, data: Any, name: str = "plan.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), "utf-8")
    return path


def _apply(*args: str) -> Any:
    return CliRunner().invoke(apply_command, list(args))


def test_apply_applies_once_then_has_nothing_to_do(
    tmp_path: Path, world: World, config: Path
) -> None:
    plan = _save(tmp_path, world.plan.to_json())
    first = _apply(str(plan), "--config", str(config))
    assert first.exit_code == 2, first.output
    assert "landlord" in first.output
    assert "API requests:" in first.output
    before = writes(world.fake)
    second = _apply(str(plan), "--config", str(config), "--format", "json")
    assert second.exit_code == 0, second.output
    assert writes(world.fake) == before
    data = json.loads(second.stdout)  # the apply's report, as stored
    assert data["run"]["kind"] == "apply"
    assert data["reference"]["calls"] == {}
    assert data["api"]["writes"] == 0
    assert not any(" POST " in key for key in data["api"]["per_endpoint"])
    with Store.open(default_store(config)) as store:
        assert [run.status for run in store.runs()] == ["succeeded", "succeeded"]


def test_a_stale_plan_is_refused_with_what_changed(
    tmp_path: Path, world: World, config: Path
) -> None:
    data = world.plan.to_json()
    other = _save(tmp_path, {**data, "ruleset": {**data["ruleset"], "content_hash": "old"}})
    refused = _apply(str(other), "--config", str(config))
    assert refused.exit_code == 1
    assert "the ruleset changed since the plan was made" in refused.output
    assert "make the plan again" in refused.output
    store_path = default_store(config)
    with Store.open(store_path) as store:
        stamped = _save(tmp_path, stamp_plan(data, store), "stamped.json")
        store.start_run("alto-fixflo", "1", world.ruleset_hash)
        store.map_id(IdMapEntry("property", "somebody-else", "9"))
        store.finish_run("succeeded")
    plan = _save(tmp_path, data)
    refused = _apply(str(plan), "--config", str(config), "--store", str(store_path))
    assert refused.exit_code == 1
    assert "without the state store" in refused.output
    refused = _apply(str(stamped), "--config", str(config))
    assert refused.exit_code == 1
    assert "the id map changed since the plan was made" in refused.output
    assert writes(world.fake) == 0


def _line1(world: World, source_id: str) -> str:
    (record,) = [
        r
        for r in world.fake.store.collections["properties"].values()
        if str(r.get("ExternalPropertyRef", "")) == source_id
    ]
    return str(record["Address"]["AddressLine1"])


def test_a_plan_whose_own_record_a_later_run_changed_is_refused(
    tmp_path: Path, world: World, config: Path
) -> None:
    """The issue's scenario: a saved plan, then a run that changes only a record the plan
    itself writes; applying the plan would revert that record, so it is refused."""
    own = next(op for op in world.plan.operations if op.op == "create" and op.kind == "property")
    later = dataclasses.replace(
        own,
        fields={**own.fields, "Address": {**own.fields["Address"], "AddressLine1": "1 New St"}},
        idempotency_key="later-" + own.idempotency_key,
    )
    with Store.open(default_store(config)) as store:
        older = _save(tmp_path, stamp_plan(world.plan.to_json(), store), "older.json")
        newer = dataclasses.replace(world.plan, operations=(later,))
        newer_path = _save(tmp_path, stamp_plan(newer.to_json(), store), "newer.json")
    assert _apply(str(newer_path), "--config", str(config)).exit_code == 2
    before = writes(world.fake)
    refused = _apply(str(older), "--config", str(config))
    assert refused.exit_code == 1
    assert f"property {own.source_id} (not in the id map then, now target " in refused.output
    assert "written by run 1" in refused.output
    assert "make the plan again against the current state store" in refused.output
    assert "Traceback" not in refused.output
    assert writes(world.fake) == before
    assert _line1(world, str(own.source_id)) == "1 New St"


def test_a_stamped_plan_of_an_unchanged_world_applies(
    tmp_path: Path, world: World, config: Path
) -> None:
    own = next(op for op in world.plan.operations if op.op == "create" and op.kind == "property")
    with Store.open(default_store(config)) as store:
        saved = _save(tmp_path, stamp_plan(world.plan.to_json(), store))
    applied = _apply(str(saved), "--config", str(config))
    assert applied.exit_code == 2, applied.output
    assert _line1(world, str(own.source_id)) == own.fields["Address"]["AddressLine1"]
    assert _apply(str(saved), "--config", str(config)).exit_code == 0  # its own effects only


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not JSON"),
        ("{}", "not a rulebridge plan"),
        ('{"format": "rulebridge.plan/2", "operations": []}', "make the plan again"),
    ],
)
def test_what_is_not_a_plan_is_refused(
    tmp_path: Path, config: Path, text: str, message: str
) -> None:
    path = tmp_path / "plan.json"
    path.write_text(text, "utf-8")
    result = _apply(str(path), "--config", str(config))
    assert result.exit_code == 1
    assert message in result.output


def _with_refused_record(world: World) -> tuple[Plan, str]:
    ops = list(world.plan.operations)
    index = next(i for i, op in enumerate(ops) if op.op == "create" and op.kind == "landlord")
    taken = next(iter(world.fake.store.collections["landlords"].values()))["EmailAddress"]
    bad = dataclasses.replace(ops[index], fields={**ops[index].fields, "EmailAddress": taken})
    ops[index] = bad
    # Its joins would be refused too (Fixflo joins only a landlord it holds): leave them out,
    # so the refused landlord is the one dead letter.
    ref = bad.fields["ExternalRef"]
    ops = [op for op in ops if op.op != "link" or op.fields.get("ExternalLandlordRef") != ref]
    return dataclasses.replace(world.plan, operations=tuple(ops)), str(bad.source_id)


def test_deadletters_lists_and_retries(tmp_path: Path, world: World, config: Path) -> None:
    plan, source_id = _with_refused_record(world)
    applied = _apply(str(_save(tmp_path, plan.to_json())), "--config", str(config))
    assert applied.exit_code == 3  # applied, and a dead letter waits for a person
    assert "dead letter 1" in applied.output
    assert "create landlord {id}: the target refused the record" in applied.stdout
    runner = CliRunner()
    table = runner.invoke(deadletters, ["--config", str(config)])
    assert table.exit_code == 0, table.output
    assert f"create landlord {source_id}" in table.output
    assert "refused the record" in table.output
    listed = runner.invoke(deadletters, ["--config", str(config), "--format", "json"])
    (letter,) = json.loads(listed.output)
    assert letter["id"] == 1
    assert "fields" not in letter
    store = str(default_store(config))
    retried = runner.invoke(deadletters, ["--store", store, "--retry", "1"])
    assert retried.exit_code == 0
    assert "queued" in retried.output
    again = runner.invoke(deadletters, ["--store", store, "--retry", "1"])
    assert again.exit_code == 1
    assert "already retried" in again.output
    assert "no dead letters" in runner.invoke(deadletters, ["--store", store]).output
    assert "retried" in runner.invoke(deadletters, ["--store", store, "--all"]).output
    assert (
        "no dead letters to retry"
        in runner.invoke(deadletters, ["--store", store, "--retry-all"]).output
    )
    both = runner.invoke(main, ["deadletters", "--store", store, "--retry", "1", "--retry-all"])
    assert both.exit_code == 64  # a usage error
    assert runner.invoke(main, ["deadletters"]).exit_code == 64
