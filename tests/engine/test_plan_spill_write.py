"""`write_plan` streams a made plan's JSON item by item (its spilled sections read back
from their files): the text is exactly ``json.dumps(plan.to_json(), indent=2, ...)``, as
the nightly runner's ``--plan-out`` saved it when it built the JSON whole."""

from __future__ import annotations

import dataclasses
import io
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.sync.plan import Plan, PlanStamp
from engine.sync.plan_writer import write_plan
from engine.sync.planner import make_plan
from engine.sync.saved_plan import read_plan
from tests.rulesets.alto import AS_OF, DEFAULT
from tests.rulesets.strategies import agencies


def _streamed(plan: Plan, *, ensure_ascii: bool) -> str:
    out = io.StringIO()
    write_plan(plan, out, ensure_ascii=ensure_ascii)
    return out.getvalue()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=agencies(), spill_at=st.integers(0, 4), ensure_ascii=st.booleans())
def test_a_streamed_plan_is_the_text_of_its_json(
    records: dict[str, list[dict[str, Any]]], spill_at: int, ensure_ascii: bool
) -> None:
    plan = make_plan(DEFAULT, records, as_of=AS_OF, inputs={"alto": "sha256:é"}, spill_at=spill_at)
    expected = json.dumps(plan.to_json(), indent=2, ensure_ascii=ensure_ascii, default=str)
    assert _streamed(plan, ensure_ascii=ensure_ascii) == expected


def test_empty_sections_a_stamp_and_rejected_records_stream_alike() -> None:
    plan = make_plan(DEFAULT, {}, as_of=AS_OF, rejected=[{"where": "alto", "n": ["ü", 1]}])
    stamp = PlanStamp(last_run=3, id_map="sha256:x", entries={("property", "1"): None})
    stamped = dataclasses.replace(plan, stamp=stamp)
    for each in (plan, stamped):
        for ensure_ascii in (True, False):
            text = _streamed(each, ensure_ascii=ensure_ascii)
            assert text == json.dumps(
                each.to_json(), indent=2, ensure_ascii=ensure_ascii, default=str
            )
    assert read_plan(json.loads(_streamed(stamped, ensure_ascii=True))).stamp == stamp
