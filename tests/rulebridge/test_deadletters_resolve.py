"""`rulebridge deadletters --resolve`: closing a dead letter a person dealt with by hand,
against a real store file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.explain import Because
from engine.issues.reconcile import LifecycleOp
from engine.store import Store
from rulebridge.cli import main
from rulebridge.cli.deadletters import deadletters


def _document(name: str) -> LifecycleOp:
    because = (Because("W-09.report", "document", name, "the issue PDF", True),)
    fields = {"name": name, "linkedType": "WorkOrder"}
    return LifecycleOp("attach", "document", "I7", fields, f"doc-{name}", because, "wo-I7", name)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """A store with three open dead letters: two documents (1, 2) and a works order (3)."""
    path = tmp_path / "state" / "acme.db"
    with Store.open(path) as store:
        store.start_run("alto-fixflo", "1", "hash-1")
        ops = [_document("issue-I7.pdf"), _document("gas-cert.pdf")]
        works = LifecycleOp("create", "works_order", "I7", {}, "wo-I7", ())
        for op in [*ops, works]:
            store.record_intent(op)
            store.dead_letter(op, "check Alto whether it landed", retryable=False)
        store.finish_run("failed")
    return path


def _run(store_path: Path, *args: str) -> Result:
    return CliRunner().invoke(deadletters, ["--store", str(store_path), *args])


def test_resolve_landed_records_the_document_as_done(store_path: Path) -> None:
    result = _run(store_path, "--resolve", "1", "--landed", "--note", "found on order 700001")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "dead letter 1 resolved: attach document recorded as done (found in target)\n"
    )
    with Store.open(store_path) as store:
        assert store.operation_status("doc-issue-I7.pdf") == "done"
        assert store.issue_state("I7").documents == {"issue-I7.pdf"}
        [row] = store.audit()
        assert row["result"] == {"resolved": "found on order 700001"}
    listed = _run(store_path)
    assert [line.split()[0] for line in listed.stdout.splitlines()[1:]] == ["2", "3"]
    every = _run(store_path, "--all").stdout
    assert "(resolved 20" in every
    assert ": found on order 700001)" in every


def test_resolve_without_landing_and_the_json_listing(store_path: Path) -> None:
    result = _run(store_path, "--resolve", "2", "--note", "not needed: a duplicate")
    assert result.exit_code == 0, result.output
    assert "dead letter 2 resolved: attach document closed as failed" in result.stdout
    letters = json.loads(_run(store_path, "--all", "--format", "json").stdout)
    by_id = {letter["id"]: letter for letter in letters}
    assert by_id[2]["resolution"] == "not needed: a duplicate"
    assert by_id[2]["resolved"] is not None
    assert (by_id[1]["resolved"], by_id[1]["resolution"]) == (None, None)
    with Store.open(store_path) as store:
        assert store.operation_status("doc-gas-cert.pdf") == "failed"
        assert store.audit() == []


def test_refusals_are_clean_errors(store_path: Path) -> None:
    works = _run(store_path, "--resolve", "3", "--landed", "--note", "it is there")
    assert works.exit_code == 1
    assert "cannot be recorded as landed" in works.stderr
    assert "resolve it without --landed" in works.stderr
    _run(store_path, "--resolve", "1", "--note", "done by hand")
    again = _run(store_path, "--resolve", "1", "--note", "again")
    assert again.exit_code == 1
    assert "already resolved" in again.stderr
    missing = _run(store_path, "--resolve", "9", "--note", "x")
    assert missing.exit_code == 1
    assert "has no dead letter 9" in missing.stderr
    for result in (works, again, missing):
        assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--resolve", "1"], "--resolve needs --note TEXT"),
        (["--resolve", "1", "--note", "  "], "--resolve needs --note TEXT"),
        (["--resolve", "1", "--note", "x", "--retry", "2"], "not both"),
        (["--resolve", "1", "--note", "x", "--retry-all"], "not both"),
        (["--note", "x"], "go with --resolve ID"),
        (["--landed"], "go with --resolve ID"),
    ],
)
def test_option_misuse_is_a_usage_error(store_path: Path, args: list[str], words: str) -> None:
    result = CliRunner().invoke(main, ["deadletters", "--store", str(store_path), *args])
    assert result.exit_code == 64
    assert words in result.stderr
    with Store.open(store_path) as store:
        assert len(store.dead_letters()) == 3  # nothing resolved or retried
