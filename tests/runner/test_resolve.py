"""A document whose answer was lost where Alto offers no lookup, resolved by a person.

The fake Alto serves no document lookup and loses the answer to every document upload
(the upload itself lands): the nightly job never posts twice on a guess, so the issue is
parked on dead letters. A person finds the documents in Alto and resolves the letters with
``rulebridge deadletters --resolve N --landed``; the next run reads the issue again and
completes it, posting nothing twice.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from engine.issues.reconcile import reconcile
from engine.store import Store
from rulebridge.cli import main
from simulator.fake.loopback import FakeAgency, agreement, fake_agency, play_issues
from tests.runner.test_nightly import SEED, SIZE, night

LOST_UPLOADS = "lost@POST /documents=1.0"


def _uploads(agency: FakeAgency) -> int:
    return len(agency.alto.log.matching("POST", "/documents/post"))


def _play(agency: FakeAgency) -> str:
    """One more issue along the loopback's paths in turn (the first: a contractor's job,
    completed and closed); its id."""
    (issue_id,) = play_issues(agency, 1)
    return issue_id


def test_documents_a_person_found_in_alto_complete_their_issue_without_a_second_upload(
    tmp_path: Path,
) -> None:
    with fake_agency(
        tmp_path / "agency", size=SIZE, seed=SEED, faults=LOST_UPLOADS, lookups=False
    ) as agency:
        night(agency)
        first = _play(agency)
        assert agency.simulation.fixflo.issues[first]["Status"] == "Closed"
        parked, _, _ = night(agency)
        letters = parked["dead_letters"]
        assert letters  # the issue report and the completion documents
        assert all("Alto offers no lookup" in letter["reason"] for letter in letters)
        assert parked["issues"]["parked"] == 1
        assert _uploads(agency) == len(letters)  # each landed once, its answer lost
        _play(agency)
        night(agency)  # the cursor moves past the parked first issue
        waiting, _, _ = night(agency)
        assert waiting["issues"]["read"] == 1  # only the one at the cursor: the first waits

        for letter in letters:
            resolved = CliRunner().invoke(
                main,
                ["deadletters", "--config", str(agency.config_path), "--resolve",
                 str(letter["id"]), "--landed", "--note", "found on the works order in Alto"],
            )  # fmt: skip
            assert resolved.exit_code == 0, resolved.output
            assert "recorded as done" in resolved.stdout

        done, _, _ = night(agency)
        assert done["issues"]["read"] == 2  # the one at the cursor, the first for its letters
        assert done["dead_letters"] == []
        assert "document" not in done["issues"]["outcomes"]
        assert _uploads(agency) == len(letters)  # nothing posted twice
        issue = agency.simulation.fixflo.snapshot(first, None)
        with Store.open(agency.store_path) as store:
            state = store.issue_state(first)
            assert store.dead_letters() == []
        assert state.revision == issue["StatusChanged"]
        assert reconcile(agency.simulation.ruleset, issue, state.holding()).operations == ()
        assert agreement(agency) == []

        quiet, _, _ = night(agency)
        assert quiet["issues"]["read"] == 1  # only the one at the cursor: the first is done
        assert quiet["issues"]["outcomes"] == {}
