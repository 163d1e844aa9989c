"""`rulebridge snapshot` and `rulebridge fake`, and the agency config they read."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.errors import RulesetErrors
from engine.snapshot import iter_records, read_header
from rulebridge._config import load_agency_config
from rulebridge.cli import main
from rulebridge.cli.fake import fake
from rulebridge.cli.snapshot import snapshot
from simulator.fake import FakeAlto, FakeFixflo, Faults, parse_faults, serving

GUID = "9b6c0d1e-2f3a-4b5c-8d7e-0f1a2b3c4d5e"


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "acme.yaml"
    path.write_text(text, "utf-8")
    return path


def test_a_good_config_loads_with_defaults(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        f"agency: acme\nsecrets_file: acme.secrets\nalto:\n  base_url: https://alto.test\n"
        f"  agency_ref: {GUID}\n  client_id_env: ACME_ID\n  client_secret_env: ACME_SECRET\n"
        "fixflo:\n  base_url: https://acme.fixflo.test/api/v2\n  token_env: ACME_FIXFLO\n",
    )
    config = load_agency_config(path)
    assert config.api("fixflo").per_minute == 500.0
    assert config.api("alto").agency_ref == GUID
    assert config.secrets_file == tmp_path / "acme.secrets"


def test_config_errors_are_located(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        "agency: acme\nfixflo:\n  base_url: http://acme.fixflo.test/api/v2\n"
        "  token_env: acme-token\n  rate_limit: {per_minute: 0}\n  tokn: x\n",
    )
    with pytest.raises(RulesetErrors) as caught:
        load_agency_config(path)
    text = str(caught.value)
    assert f"{path}:4:14:" in text  # the bad variable name, where it is written
    assert "tokn" in text
    assert f"{path}:5:28: invalid-value: must be at least 1" in text


def test_plain_http_is_refused_except_on_loopback(tmp_path: Path) -> None:
    path = _config(
        tmp_path, "agency: a\nfixflo:\n  base_url: http://acme.test/api/v2\n  token_env: T\n"
    )
    with pytest.raises(RulesetErrors, match="insecure-url"):
        load_agency_config(path)
    path.write_text("agency: a\nfixflo:\n  base_url: http://127.0.0.1:9/api/v2\n  token_env: T\n")
    assert load_agency_config(path).api("fixflo").base_url.startswith("http://127.0.0.1")


def test_snapshot_fixflo_from_a_faulty_fake_over_loopback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = FakeFixflo(
        60, seed=5, faults=Faults(parse_faults("all=0.1"), seed=1, retry_after=0.01)
    )
    monkeypatch.setenv("ACME_FIXFLO", server.token)
    out = tmp_path / "fixflo.json"
    with serving(server.app) as url:
        config = _config(
            tmp_path, f"agency: acme\nfixflo:\n  base_url: {url}/api/v2\n  token_env: ACME_FIXFLO\n"
        )
        result = CliRunner().invoke(
            snapshot, ["fixflo", "--config", str(config), "--out", str(out)]
        )
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output
    assert "requests retried" in result.output
    header = read_header(out, system="fixflo")
    expected = server.snapshot_collections()
    for name in header.collections:
        assert list(iter_records(out, name, header=header)) == expected[name]
    assert server.token not in out.read_text("utf-8")


def test_snapshot_alto_with_secrets_from_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = FakeAlto(20, seed=5)
    monkeypatch.delenv("ACME_SECRET", raising=False)
    monkeypatch.setenv("ACME_ID", server.client_id)
    (tmp_path / "acme.secrets").write_text(f"ACME_SECRET={server.client_secret}\n", "utf-8")
    (tmp_path / "acme.secrets").chmod(0o600)
    out = tmp_path / "alto.json"
    with serving(server.app) as url:
        config = _config(
            tmp_path,
            f"agency: acme\nsecrets_file: acme.secrets\nalto:\n  base_url: {url}\n"
            f"  agency_ref: {server.agency_ref}\n  client_id_env: ACME_ID\n"
            "  client_secret_env: ACME_SECRET\n",
        )
        result = CliRunner().invoke(snapshot, ["alto", "--config", str(config), "--out", str(out)])
    assert result.exit_code == 0, result.output
    header = read_header(out, system="alto")
    assert header.agency_ref == server.agency_ref
    assert list(iter_records(out, "tenancies", header=header)) == server.world["tenancies"]
    assert server.client_secret not in out.read_text("utf-8")


def test_snapshot_with_a_missing_secret_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACME_FIXFLO", raising=False)
    config = _config(
        tmp_path,
        "agency: a\nfixflo:\n  base_url: https://f.test/api/v2\n  token_env: ACME_FIXFLO\n",
    )
    out = tmp_path / "f.json"
    result = CliRunner().invoke(snapshot, ["fixflo", "--config", str(config), "--out", str(out)])
    assert result.exit_code == 1
    assert "ACME_FIXFLO is not set" in result.output
    assert not out.exists()


def test_snapshot_failure_leaves_no_file_and_a_clean_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = FakeFixflo(10, seed=5)
    monkeypatch.setenv("ACME_FIXFLO", "wrong-token-value")
    out = tmp_path / "f.json"
    with serving(server.app) as url:
        config = _config(
            tmp_path, f"agency: a\nfixflo:\n  base_url: {url}/api/v2\n  token_env: ACME_FIXFLO\n"
        )
        result = CliRunner().invoke(
            snapshot, ["fixflo", "--config", str(config), "--out", str(out)]
        )
    assert result.exit_code == 1
    assert "401" in result.output
    assert "wrong-token-value" not in result.output
    assert not out.exists()


@pytest.mark.parametrize("command", [snapshot, fake])
def test_commands_have_help_with_an_example(command: object) -> None:
    result = CliRunner().invoke(command, ["--help"])  # type: ignore[arg-type]
    assert result.exit_code == 0
    assert "Example:" in result.output


def test_fake_refuses_a_bad_fault_spec() -> None:
    result = CliRunner().invoke(main, ["fake", "alto", "--faults", "boom=1"])
    assert result.exit_code == 64  # a usage error (rulebridge._exits)
    assert "unknown kind" in result.output
