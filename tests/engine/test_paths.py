"""Field paths: every specialised reader agrees with the reference walker on any data."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.language.paths import _step, _walk, compile_path

KEYS = ["a", "b", "c", "A"]
PATHS = [
    "a",
    "A",
    "a.b",
    "a.b.c",
    "a[0]",
    "a[1].b",
    "a.b[0].c",
    "a[]",
    "a[].b",
    "a.b[].c",
    "a[].b.c",
    "a[].b[].c",
    "a[0].b[]",
]

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.text(max_size=3)),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.sampled_from(KEYS), children, max_size=3)
    ),
    max_leaves=12,
)


@pytest.mark.parametrize("path", PATHS)
@given(record=json_values)
def test_compiled_reader_equals_the_reference_walk(path: str, record: Any) -> None:
    steps = [_step(part) for part in path.split(".")]
    assert compile_path(path)(record) == _walk(record, steps)


def test_keys_are_read_ignoring_case_when_not_exact() -> None:
    assert compile_path("id")({"Id": 7}) == 7
    assert compile_path("address.postCode")({"Address": {"PostCode": "LS1"}}) == "LS1"
    assert compile_path("id")({"id": 1, "ID": 2}) == 1
