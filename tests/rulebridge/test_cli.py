"""The `rulebridge` command: validate, schema, help for every command, exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import click
import httpx
import pytest
from click.testing import CliRunner

from rulebridge.cli import main
from simulator.fake.loopback import fake_agency

ROOT = Path(__file__).resolve().parents[2]
RULESETS = ROOT / "rulesets"


def run(*args: str) -> click.testing.Result:
    return CliRunner().invoke(main, list(args))


def test_validate_the_shipped_rulesets() -> None:
    result = run("validate", str(RULESETS))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any(
        re.fullmatch(
            r".+alto-fixflo/v2\.yaml: ok: ruleset alto-fixflo v2, \d+ rules, "
            r"4 entities, sha256:[0-9a-f]{12}",
            line,
        )
        for line in lines
    )
    assert all(": ok: " in line or line.startswith("  note: gap ") for line in lines)
    assert any(line.startswith("  note: gap gap.oid (G-02, P-07, C-03)") for line in lines)


def test_validate_reports_every_error_sorted_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "v1.yaml"
    bad.write_text(
        "ruleset: demo\nversion: 1\nsumary: x\nentities:\n  a: {from: alto.x, include: []}\n",
        "utf-8",
    )
    result = run("validate", "--no-show-source", str(bad))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{bad}:3:1: unknown-key: unknown key 'sumary' (did you mean 'summary'?)",
        f"{bad}:5:13: unknown-source: no source 'alto.x' is declared; declare it under 'sources:'",
    ]
    assert "2 errors in 1 of 1 file" in result.stderr


def test_show_source_draws_a_caret(tmp_path: Path) -> None:
    bad = tmp_path / "v1.yaml"
    bad.write_text("ruleset: demo\nversion: 1\nsummary: x\nextra: 1\n", "utf-8")
    result = run("validate", "--show-source", str(bad))
    assert result.stdout.splitlines()[1:] == ["    4 | extra: 1", "      | ^"]


def test_valid_and_broken_files_together(tmp_path: Path) -> None:
    (tmp_path / "v1.yaml").write_text("ruleset: demo\nversion: 1\nsummary: fine\n", "utf-8")
    (tmp_path / "v2.yaml").write_text("", "utf-8")
    result = run("validate", "--no-show-source", str(tmp_path))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{tmp_path / 'v1.yaml'}: ok: ruleset demo v1, 0 rules, 0 entities, "
        f"sha256:{result.stdout.split('sha256:')[1][:12]}",
        f"{tmp_path / 'v2.yaml'}:1:1: empty-file: the file is empty; a ruleset starts with "
        "'ruleset:', 'version:' and 'summary:'",
    ]


def test_settings_file_is_checked_against_its_ruleset(tmp_path: Path) -> None:
    (tmp_path / "v1.yaml").write_text(
        "ruleset: demo\nversion: 1\nsummary: s\nsettings:\n  cats: {type: list, allowed: [A, B], "
        "default: [A]}\n",
        "utf-8",
    )
    good = tmp_path / "good.yaml"
    good.write_text("settings_for: demo\nsettings:\n  cats: [A, B]\n", "utf-8")
    result = run("validate", str(tmp_path / "v1.yaml"), str(good))
    assert result.exit_code == 0
    assert f"{good}: ok: settings for demo, 1 override" in result.stdout
    good.write_text("settings_for: demo\nsettings:\n  cats: [C]\n", "utf-8")
    result = run("validate", "--no-show-source", str(good))
    assert result.exit_code == 1
    assert (
        f"{good}:3:9: bad-setting: setting 'cats': 'C' is not allowed; allowed: A, B"
        in result.stdout
    )


def test_settings_for_an_unknown_ruleset(tmp_path: Path) -> None:
    settings = tmp_path / "agency.yaml"
    settings.write_text("settings_for: nothing\nsettings: {}\n", "utf-8")
    result = run("validate", "--no-show-source", str(settings))
    assert result.exit_code == 1
    assert "unknown-ruleset: no ruleset named 'nothing'" in result.stdout


def test_usage_errors_exit_64(tmp_path: Path) -> None:
    assert run("validate").exit_code == 64  # EX_USAGE: 2 means "changes applied"
    assert run("validate", str(tmp_path / "missing.yaml")).exit_code == 64
    assert run("frobnicate").exit_code == 64


def test_empty_folder_exits_1(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path))
    assert result.exit_code == 1
    assert "no .yaml or .yml files" in result.stderr


def test_schema_prints_the_shipped_schema() -> None:
    result = run("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert json.loads(run("schema", "settings").stdout)["title"] == "rulebridge agency settings"


def test_rulesets_name_the_schema_by_a_path_that_resolves() -> None:
    shipped = run("schema").stdout
    for ruleset in RULESETS.rglob("v*.yaml"):
        first = ruleset.read_text("utf-8").splitlines()[0]
        match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
        assert match, f"{ruleset} lacks the $schema line"
        target = (ruleset.parent / match.group(1)).resolve()
        assert target.read_text("utf-8") == shipped


def all_commands(group: click.Group) -> list[tuple[str, click.Command]]:
    ctx = click.Context(group)
    names = group.list_commands(ctx)
    return [(name, command) for name in names if (command := group.get_command(ctx, name))]


@pytest.mark.parametrize(("name", "command"), all_commands(main))
def test_every_command_has_help_with_an_example(name: str, command: click.Command) -> None:
    result = run(name, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.stdout, f"{name} --help has no Example"
    assert run(name, "-h").exit_code == 0


def test_the_console_script_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rulebridge", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert "validate" in done.stdout


def test_serve_without_a_webhook_section_says_what_to_add(tmp_path: Path) -> None:
    config = tmp_path / "a.yaml"
    config.write_text(
        "agency: a\nruleset: r.yaml\nfixflo:\n  base_url: https://a.fixflo.com/api/v2\n"
        "  token_env: A_TOKEN\n",
        "utf-8",
    )
    result = CliRunner().invoke(main, ["serve", "--config", str(config)])
    assert result.exit_code == 1
    assert "no 'webhook:' section" in result.output
    assert "Traceback" not in result.output


def test_serve_with_a_bad_webhook_section_gives_located_errors(tmp_path: Path) -> None:
    config = tmp_path / "a.yaml"
    config.write_text(
        "agency: a\nfixflo:\n  base_url: https://a.fixflo.com/api/v2\n  token_env: A_TOKEN\n"
        "webhook:\n  listen: somewhere\n  public_url: https://rb.example/x\n  secret_env: A_HOOK\n"
        "  workers: 0\n",
        "utf-8",
    )
    result = CliRunner().invoke(main, ["serve", "--config", str(config)])
    assert result.exit_code == 1
    assert f"{config}:6:11:" in result.output
    assert "a host:port such as 127.0.0.1:8787" in result.output
    assert f"{config}:9:12:" in result.output


def test_serve_unsubscribe_removes_only_our_subscriptions(tmp_path: Path) -> None:
    with fake_agency(tmp_path / "agency", size=10, seed=2, webhooks=True) as agency:
        token = {"Authorization": f"Bearer {agency.fixflo.token}"}

        def subscribe(url: str) -> None:
            body = {"TargetUrl": url, "Events": ["Issue closed"], "Secret": "x" * 20,
                    "RemoveBody": True, "HttpMethod": "POST", "EntityType": "Issue"}  # fmt: skip
            answer = httpx.post(agency.fixflo_url + "/Webhook/Subscribe", json=body, headers=token)
            assert answer.status_code == 200, answer.text

        subscribe(f"{agency.webhook_url}/old-token-0000000000000000000000")
        subscribe("https://other-integration.example/hook")
        result = CliRunner().invoke(
            main, ["serve", "--config", str(agency.config_path), "--unsubscribe"]
        )
        assert result.exit_code == 0, result.output
        assert "removed 1 subscription(s)" in result.output
        left = httpx.get(agency.fixflo_url + "/Webhooks", headers=token).json()
        assert [hook["Url"] for hook in left] == ["https://other-integration.example/hook"]
