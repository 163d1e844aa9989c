"""Benchmark: `rulebridge serve` under a burst of issue changes, against the nightly run.

For a generated agency on the fake Alto and Fixflo (loopback HTTP, real SQLite store, the
fake Fixflo's rate limit on: at most ``--per-minute`` requests per token in any 60 s,
429 with ``Retry-After`` beyond), after its first night:

1. **live**: the server runs in this process; issues are played in the fake Fixflo until
   ``--changes`` status changes were made (each issue along its lifecycle path, so several
   changes an issue), all at once. The fake Fixflo posts a webhook for each change; the
   server coalesces them per issue and reconciles. Measured: the webhook-to-Alto latency
   per reconcile (the first delivery queued to the reconcile done, Alto written), p50 and
   p99; the Fixflo requests the server spent (the fake's request log), per issue and per
   change; the wall time until everything was in Alto.
2. **night**: the same agency (same seed) again, a night with nothing changed (what every
   night reads anyway), the same changes played with no server, then one nightly run: the
   Fixflo requests it spent, in all and for the changes (less the unchanged night's).

Printed as ratios, as the other benches in bench/ do: the nightly run's Fixflo requests to
the server's, per issue.

Usage: python bench/live_bench.py [--changes 500] [--size 100] [--per-minute 500] [--seed 1]
    [--folder out/bench-live]
"""

from __future__ import annotations

import argparse
import io
import logging
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from rulebridge._config import load_agency_config
from rulebridge.runner import RunLog, RunOptions, run_nightly
from rulebridge.runner.serve import LiveServer, ServeOptions
from simulator.fake.loopback import PATHS, FakeAgency, agreement, fake_agency, play_issues


def night(agency: FakeAgency) -> dict[str, Any]:
    """One nightly run; its report."""
    options = RunOptions(load_agency_config(agency.config_path), agency.store_path)
    outcome = run_nightly(options, RunLog(io.StringIO(), terminal=False))
    if outcome.exit_code == 1:
        raise SystemExit(f"the run failed: {outcome.report['run'].get('error')}")
    return outcome.report


def burst(agency: FakeAgency, changes: int, seed: int) -> list[str]:
    """Play issues until `changes` status changes were made; the issues."""
    issues: list[str] = []
    made = 0
    while made < changes:
        (issue_id,) = play_issues(agency, 1, seed=seed + len(issues))
        issues.append(issue_id)
        made += len(PATHS[(int(issue_id) - 1) % len(PATHS)])
    return issues


def fixflo_requests(agency: FakeAgency, since: int = 0) -> int:
    """Requests the fake Fixflo received after the first `since`, webhook endpoints aside."""
    return len([e for e in agency.fixflo.log.entries[since:] if "/Webhook" not in e.path])


def quiet(agency: FakeAgency, server: LiveServer) -> bool:
    """Fixflo sent every webhook and the server's queue is empty."""
    return not agency.fixflo.webhooks.sender.pending() and server.idle()


def live(args: argparse.Namespace) -> dict[str, Any]:
    folder = args.folder / "live"
    with fake_agency(
        folder, size=args.size, seed=args.seed, webhooks=True, fixflo_rate_limit=args.per_minute
    ) as agency:
        night(agency)
        config = load_agency_config(agency.config_path)
        server = LiveServer(
            ServeOptions(config, agency.store_path), RunLog(io.StringIO(), terminal=False)
        )
        with server.running():
            base = len(agency.fixflo.log.entries)
            started = time.perf_counter()
            issues = burst(agency, args.changes, args.seed)
            played = time.perf_counter() - started
            while not quiet(agency, server):
                time.sleep(0.05)
            seconds = time.perf_counter() - started
            assert server.reconciler is not None
            latencies = sorted(server.reconciler.stats.latencies)
            fates = dict(server.reconciler.stats.fates)
            requests = fixflo_requests(agency, base)
            sent = agency.fixflo.webhooks.sent
            throttled = len([e for e in agency.fixflo.log.entries[base:] if e.status == 429])
        problems = agreement(agency)
    return {
        "issues": issues,
        "played": played,
        "seconds": seconds,
        "latencies": latencies,
        "fates": fates,
        "requests": requests,
        "webhooks": sent,
        "throttled": throttled,
        "problems": problems,
    }


def nightly(args: argparse.Namespace) -> dict[str, Any]:
    folder = args.folder / "night"
    with fake_agency(
        folder, size=args.size, seed=args.seed, fixflo_rate_limit=args.per_minute
    ) as agency:
        night(agency)
        base = len(agency.fixflo.log.entries)
        night(agency)  # nothing changed: what every night reads anyway
        baseline = fixflo_requests(agency, base)
        issues = burst(agency, args.changes, args.seed)
        base = len(agency.fixflo.log.entries)
        started = time.perf_counter()
        night(agency)
        seconds = time.perf_counter() - started
        requests = fixflo_requests(agency, base)
        problems = agreement(agency)
    return {
        "issues": issues,
        "seconds": seconds,
        "requests": requests,
        "on_issues": requests - baseline,
        "baseline": baseline,
        "problems": problems,
    }


def quantile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=500, help="issue status changes")
    parser.add_argument("--size", type=int, default=100, help="properties in the agency")
    parser.add_argument("--per-minute", type=int, default=500, help="the fake Fixflo's limit")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--folder", type=Path, default=Path("out/bench-live"))
    args = parser.parse_args()
    logging.getLogger("stamina").setLevel(logging.ERROR)  # 429s are expected: counted below
    shutil.rmtree(args.folder, ignore_errors=True)
    served = live(args)
    nights = nightly(args)
    count = len(served["issues"])
    print(
        f"agency: {args.size} properties (seed {args.seed}); {args.changes} issue changes "
        f"in a burst ({count} issues); the fake Fixflo limited to {args.per_minute} "
        "requests a minute"
    )
    lat = served["latencies"]
    print(
        f"live:  {served['webhooks']} webhooks, reconciles {served['fates']}, "
        f"{served['throttled']} answers 429; burst played in {served['played']:.1f} s, "
        f"all in Alto after {served['seconds']:.1f} s"
    )
    print(
        f"       webhook-to-Alto latency p50 {quantile(lat, 0.5):.2f} s, "
        f"p99 {quantile(lat, 0.99):.2f} s, max {max(lat, default=0):.2f} s"
    )
    per_live = served["requests"] / count
    print(
        f"       Fixflo requests {served['requests']}: {per_live:.2f} an issue, "
        f"{served['requests'] / args.changes:.2f} a change"
    )
    per_night = nights["requests"] / count
    print(
        f"night: Fixflo requests {nights['requests']}, of which {nights['on_issues']} for the "
        f"changes (an unchanged night reads {nights['baseline']}): {per_night:.2f} an issue, "
        f"{nights['on_issues'] / count:.2f} for the changes alone; {nights['seconds']:.1f} s"
    )
    print(
        f"ratio: the nightly run spends {per_night / per_live:.2f}x the server's Fixflo "
        f"requests per issue ({nights['on_issues'] / served['requests']:.2f}x for the changes "
        "alone); the server's reach Alto as the limit allows, the night's up to a day later"
    )
    for label, problems in (("live", served["problems"]), ("night", nights["problems"])):
        if problems:
            print(f"{label}: {len(problems)} disagreements, first: {problems[0]}")


if __name__ == "__main__":
    main()
