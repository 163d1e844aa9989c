"""Random damage to a valid ruleset never crashes `validate`: exit 0 or 1, located messages."""

from __future__ import annotations

import copy
import re
import traceback
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from rulebridge.cli import main

ROOT = Path(__file__).resolve().parents[2]
RULESET = ROOT / "rulesets" / "alto-fixflo" / "v2.yaml"
VALID = yaml.safe_load(RULESET.read_text("utf-8"))
TEXT = RULESET.read_text("utf-8")
LOCATED = re.compile(r"^.+:\d+:\d+: [a-z0-9-]+: .+$")

Path_ = tuple[Any, ...]


def all_paths(node: Any, path: Path_ = ()) -> list[Path_]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(all_paths(value, (*path, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(all_paths(value, (*path, index)))
    return found


def parent_and_key(data: Any, path: Path_) -> tuple[Any, Any]:
    node = data
    for step in path[:-1]:
        node = node[step]
    return node, path[-1]


REPLACEMENTS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.text(max_size=8),
    st.lists(st.text(max_size=4), max_size=3),
    st.dictionaries(
        st.sampled_from(["field", "eq", "in", "all", "x"]), st.text(max_size=4), max_size=2
    ),
)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    data = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 4))):
        paths = [path for path in all_paths(data) if path]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = parent_and_key(data, path)
        action = draw(st.sampled_from(["delete", "retype", "swap", "rename", "duplicate"]))
        if action == "delete":
            del parent[key]
        elif action == "retype":
            parent[key] = draw(REPLACEMENTS)
        elif action == "swap":
            other_parent, other_key = parent_and_key(data, draw(st.sampled_from(paths)))
            try:
                # deep copies: swapping a node with its own ancestor must not make a cycle
                parent[key], other_parent[other_key] = (
                    copy.deepcopy(other_parent[other_key]),
                    copy.deepcopy(parent[key]),
                )
            except (KeyError, IndexError):
                continue
        elif action == "rename" and isinstance(parent, dict) and len(str(key)) > 1:
            cut = draw(st.integers(0, len(str(key)) - 1))
            parent[str(key)[:cut] + str(key)[cut + 1 :]] = parent.pop(key)
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@st.composite
def text_damage(draw: st.DrawFn) -> str:
    lines = TEXT.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "repeat", "tab", "truncate", "insert"]))
        if action == "drop":
            del lines[index]
        elif action == "repeat":
            lines.insert(index, lines[index])
        elif action == "tab":
            lines[index] = "\t" + lines[index]
        elif action == "truncate":
            lines[index] = lines[index][: draw(st.integers(0, max(len(lines[index]) - 1, 0)))]
        else:
            lines.insert(index, draw(st.text(max_size=20)))
        if not lines:
            break
    return "\n".join(lines) + "\n"


def check(tmp_path: Path, text: str) -> None:
    path = tmp_path / "v1.yaml"
    path.write_text(text, "utf-8", errors="surrogatepass")
    result = CliRunner().invoke(main, ["validate", "--no-show-source", str(path)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError("".join(traceback.format_exception(result.exception)))
    assert result.exit_code in (0, 1), result.output
    lines = result.stdout.splitlines()
    if result.exit_code == 0:
        assert len(lines) == 1
        assert ": ok: ruleset " in lines[0]
    else:
        assert lines
        assert all(LOCATED.match(line) for line in lines), result.stdout


@given(mutated())
def test_structural_mutations_give_located_errors(tmp_path_factory: Any, text: str) -> None:
    check(tmp_path_factory.mktemp("mut"), text)


@given(text_damage())
def test_text_damage_gives_located_errors(tmp_path_factory: Any, text: str) -> None:
    check(tmp_path_factory.mktemp("txt"), text)
