"""The alert hook: after a run, tell someone what needs them, as a JSON summary.

The agency config's ``alerts:`` section (`rulebridge._config.AlertsConfig`) names where a
summary goes: POSTed to a URL (held in a secret: it often carries a token, and is never
logged or written anywhere), and/or given on standard input to a command (an argv list,
run without a shell). It goes when one of the run's triggers is among ``on:``:

- ``failure``: the run failed (exit code 1);
- ``interrupted``: SIGTERM or SIGINT stopped it;
- ``dead_letters``: it wrote dead letters;
- ``drift``: it found records missing from the target (``report["drift"]["items"]``);
- ``for_a_person``: it left items for a person the agency's previous night did not list
  (the same items night after night alert once, not every night).

The summary says which agency and run, its status and exit code, the triggers, counts, the
first dead letter groups, new items for a person and drifted records (personal data
masked), and the command that shows the rest (``rulebridge report RUN ...``). A POST is
tried a few times on a 5xx, a 429 or a transport error (stamina), never again on a 4xx.
Nothing here raises into the run: what happened is returned for ``report["alert"]``.

Example::

    fired = triggers(report, previous, status="succeeded")    # ['dead_letters']
    body = summary(report, fired, previous, more="rulebridge report 12 --config acme.yaml")
    report["alert"] = send(config.alerts, config.secrets_file, fired, body)
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import stamina

from adapters.errors import ConfigError
from adapters.secrets import read_secret
from rulebridge._config import ALERT_TRIGGERS, AlertsConfig
from rulebridge.runner.log import redact_personal
from rulebridge.runner.metrics import section
from rulebridge.runner.report import dead_letter_group

__all__ = ["new_manual_items", "send", "summary", "triggers"]

_ATTEMPTS: Final = 3
_AGAIN: Final = frozenset({429, 500, 502, 503, 504})
_LOCAL: Final = frozenset({"127.0.0.1", "localhost", "::1"})
_SHOWN_IDS: Final = 5


class _Again(Exception):
    """The receiver answered a status worth another try."""

    def __init__(self, status: int) -> None:
        super().__init__(f"answered {status}")
        self.status = status


def triggers(
    report: Mapping[str, Any], previous: Mapping[str, Any] | None, *, status: str
) -> list[str]:
    """What the run's report fires, in `rulebridge._config.ALERT_TRIGGERS` order (before
    ``on:`` filters them).

    Args:
        report: the run's report.
        previous: the agency's previous night's report (None: there is none).
        status: the run's status (``succeeded``, ``failed``, ``interrupted``).

    Example:
        >>> triggers({"dead_letters": [{"id": 1}]}, None, status="succeeded")
        ['dead_letters']
    """
    drift = section(report, "drift")
    fired = {
        "failure": status == "failed",
        "interrupted": status == "interrupted",
        "dead_letters": bool(report.get("dead_letters")),
        "drift": bool(isinstance(drift, Mapping) and drift.get("items")),
        "for_a_person": bool(new_manual_items(report, previous)),
    }
    return [name for name in ALERT_TRIGGERS if fired[name]]


def new_manual_items(
    report: Mapping[str, Any], previous: Mapping[str, Any] | None
) -> list[Mapping[str, Any]]:
    """The report's items for a person that `previous` (the previous night's report) did
    not list, by entity, record and rule; all of them without a previous night.

    Example:
        >>> item = {"entity": "occupier", "source_id": "7", "rule": "G-03"}
        >>> new_manual_items({"reference": {"manual_items": [item]}}, None) == [item]
        True
    """
    before = {_key(item) for item in _manual(previous)} if previous is not None else set()
    return [item for item in _manual(report) if _key(item) not in before]


def summary(
    report: Mapping[str, Any],
    fired: Sequence[str],
    previous: Mapping[str, Any] | None,
    *,
    more: str,
    status: str,
    items: int = 20,
    open_dead_letters: int | None = None,
) -> dict[str, Any]:
    """The JSON an alert carries (docs/runner.md, "Metrics and alerts"), personal data
    masked; lists hold at most `items` entries, `more` says how to see the rest."""
    run = section(report, "run")
    letters = [d for d in _list(report.get("dead_letters")) if isinstance(d, Mapping)]
    new = new_manual_items(report, previous)
    drift = section(report, "drift")
    drifted = [d for d in _list(drift.get("items")) if isinstance(d, Mapping)]
    counts = {
        "changes": run.get("changes"),
        "attention": run.get("attention"),
        "dead_letters": len(letters),
        "dead_letters_open": open_dead_letters,
        "for_a_person": len(_manual(report)),
        "for_a_person_new": len(new),
        "drift": len(drifted),
        "warnings": len(_list(report.get("warnings"))),
    }
    body = {
        "agency": run.get("agency"),
        "run": run.get("id"),
        "kind": run.get("kind") or ("adopt" if run.get("adopt") else "night"),
        "status": status,
        "exit_code": run.get("exit_code"),
        "started": run.get("started"),
        "finished": run.get("finished"),
        "error": run.get("error"),
        "triggers": list(fired),
        "counts": counts,
        "dead_letter_groups": _groups(letters)[:items],
        "for_a_person": [_item(item) for item in new[:items]],
        "drift": [dict(item) for item in drifted[:items]],
        "more": more,
    }
    masked: dict[str, Any] = _masked(body)
    return masked


def send(
    alerts: AlertsConfig, secrets_file: Path | None, fired: Sequence[str], body: Mapping[str, Any]
) -> dict[str, Any]:
    """Send `body` where `alerts` says, if any of `fired` is among its ``on:``; never
    raises. Returns what happened, for ``report["alert"]``: ``sent`` (every destination
    took it), ``to``, the ``triggers`` it was sent for (none: nothing was sent), and
    ``error`` (None, or what went wrong: never the URL).
    """
    chosen = [name for name in fired if name in alerts.on]
    outcome: dict[str, Any] = {"sent": False, "to": alerts.to, "triggers": chosen, "error": None}
    if not chosen:
        return outcome
    data = json.dumps(body, default=str).encode("utf-8")
    errors = []
    if alerts.url_env is not None:
        errors.append(_post_to(alerts.url_env, secrets_file, data, alerts.timeout_seconds))
    if alerts.command is not None:
        errors.append(_run_command(alerts.command, data, alerts.timeout_seconds))
    failed = [error for error in errors if error is not None]
    outcome["sent"] = not failed
    outcome["error"] = "; ".join(failed) or None
    return outcome


def _post_to(name: str, secrets_file: Path | None, data: bytes, timeout: float) -> str | None:
    """POST `data` to the URL in secret `name`; None when it was taken, else why not."""
    try:
        url = read_secret(name, secrets_file)
    except ConfigError as exc:
        return f"url: {exc}"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"url: {name} does not hold an http(s) URL"
    if parts.scheme == "http" and parts.hostname not in _LOCAL:
        return f"url: {name} must hold an https URL (plain http only for 127.0.0.1)"
    try:
        status = _post(url, data, timeout)
    except _Again as exc:
        return f"url: the receiver {exc} ({_ATTEMPTS} attempts)"
    except httpx.HTTPError as exc:
        reason = str(exc).replace(url, "[url]").replace(parts.netloc, "[host]")
        return f"url: {type(exc).__name__}: {reason}"[:300]
    if not 200 <= status < 300:
        return f"url: the receiver answered {status}"
    return None


def _post(url: str, data: bytes, timeout: float) -> int:
    """The receiver's final status; 429 and 5xx, and transport errors, are tried again."""
    headers = {"content-type": "application/json", "user-agent": "rulebridge-alert"}
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for attempt in stamina.retry_context(
            on=(_Again, httpx.TransportError), attempts=_ATTEMPTS, timeout=timeout * _ATTEMPTS
        ):
            with attempt:
                response = client.post(url, content=data, headers=headers)
                if response.status_code in _AGAIN:
                    raise _Again(response.status_code)
    return response.status_code


def _run_command(argv: Sequence[str], data: bytes, timeout: float) -> str | None:
    """Run `argv` (no shell) with `data` on its standard input; None when it exited 0."""
    program = Path(argv[0]).name
    try:
        done = subprocess.run(  # noqa: S603 - an argv list from the agency's own config, no shell
            list(argv), input=data, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return f"command: {program} took longer than {timeout:g} s and was stopped"
    except OSError as exc:
        return f"command: {program} could not be started ({type(exc).__name__})"
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        said = f": {redact_personal(lines[-1])[:200]}" if lines else ""
        return f"command: {program} exited with {done.returncode}{said}"
    return None


def _manual(report: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    reference = section(report, "reference")
    return [item for item in _list(reference.get("manual_items")) if isinstance(item, Mapping)]


def _key(item: Mapping[str, Any]) -> tuple[str, str, str]:
    return str(item.get("entity")), str(item.get("source_id")), str(item.get("rule"))


def _item(item: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("entity", "source_id", "rule", "summary", "todo")
    return {key: item.get(key) for key in keys}


def _groups(letters: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Dead letters grouped by reason (record ids removed), the largest group first."""
    members: dict[str, list[Any]] = {}
    for letter in letters:
        group = letter.get("group") or dead_letter_group(str(letter.get("reason", "")))
        members.setdefault(str(group), []).append(letter.get("id"))
    sizes = Counter({group: len(ids) for group, ids in members.items()})
    return [
        {"group": group, "count": n, "ids": members[group][:_SHOWN_IDS]}
        for group, n in sizes.most_common()
    ]


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return redact_personal(value)
    if isinstance(value, Mapping):
        return {str(key): _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    return value


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
