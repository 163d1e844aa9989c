"""The `rulebridge` command: one click group; each command lives in a module of its own.

A command's module is imported only when that command runs (or shows its own help), so
``rulebridge --help`` and ``rulebridge validate`` do not load the TUI, the store, the
adapters or the fake servers. ``_COMMANDS`` is the table of contents: each command's
module and the summary ``rulebridge --help`` lists for it (a test keeps every summary
equal to the first paragraph of its command's help).
"""

from __future__ import annotations

import click

from rulebridge.cli._help import CONTEXT
from rulebridge.cli._lazy import LazyCommand, LazyGroup

__all__ = ["main"]

_COMMANDS: dict[str, LazyCommand] = {
    "apply": LazyCommand(
        "rulebridge.cli.apply:apply_command",
        "Apply exactly the saved plan PLAN.json to the agency's Fixflo, each effect once.",
    ),
    "check": LazyCommand(
        "rulebridge.cli.check:check_command",
        "Check an agency config in seconds: the file, its ruleset, both APIs reached and "
        "their credentials accepted, without reading the agency.",
    ),
    "deadletters": LazyCommand(
        "rulebridge.cli.deadletters:deadletters",
        "List dead letters (operations a target refused), queue them for retry, or resolve "
        "one a person dealt with by hand.",
    ),
    "demo": LazyCommand(
        "rulebridge.cli.demo:demo",
        "Run the main job on the embedded default and print what it did.",
    ),
    "diff": LazyCommand(
        "rulebridge.cli.diff:diff",
        "Show what changing ruleset OLD.yaml into NEW.yaml would do to the snapshot's records.",
    ),
    "explain": LazyCommand(
        "rulebridge.cli.explain:explain",
        "Explain one record's decision: every rule in order, what it read, held or failed.",
    ),
    "explore": LazyCommand(
        "rulebridge.cli.explore:explore_command",
        "Try every sequence of Fixflo events (with lost, late and repeated webhooks) up to "
        "--depth against the lifecycle invariants.",
    ),
    "fake": LazyCommand(
        "rulebridge.cli.fake:fake",
        "Serve a fake SYSTEM (alto or fixflo) API on 127.0.0.1 only, until interrupted.",
    ),
    "fleet": LazyCommand(
        "rulebridge.cli.fleet:fleet",
        "Run many agencies' nights side by side on durable queues, on one machine or several.",
    ),
    "fmt": LazyCommand(
        "rulebridge.cli.fmt:fmt_command",
        "Lay out rulesets and settings files canonically, keeping every comment and value.",
    ),
    "generate": LazyCommand(
        "rulebridge.cli.generate:generate",
        "Generate a realistic agency (Alto and Fixflo snapshots) or a Jupix export.",
    ),
    "graph": LazyCommand(
        "rulebridge.cli.graph:graph_command",
        "Draw the ruleset's lifecycle as a state diagram: statuses, events and their guards.",
    ),
    "history": LazyCommand(
        "rulebridge.cli.history:history",
        "List the agency's runs, newest first: when, how long, status, what changed.",
    ),
    "jupix": LazyCommand(
        "rulebridge.cli.jupix:jupix",
        "Check a Jupix export as migrate reads it, or re-hash its manifest after a hand edit.",
    ),
    "migrate": LazyCommand(
        "rulebridge.cli.migrate:migrate_command",
        "Migrate a Jupix export into Alto records, with reconciliation and manual actions.",
    ),
    "plan": LazyCommand(
        "rulebridge.cli.plan:plan",
        "Plan the changes that make Fixflo agree with Alto, without changing anything.",
    ),
    "report": LazyCommand(
        "rulebridge.cli.history:report",
        "Show one run: counts per entity and action, skips by rule, warnings, dead letters, "
        "API calls per endpoint, retries and duration.",
    ),
    "run": LazyCommand(
        "rulebridge.cli.run:run_command",
        "Run the nightly job for one agency: snapshot Alto and Fixflo, plan, apply the "
        "changed records to Fixflo, reconcile Fixflo issues into Alto, report.",
    ),
    "schema": LazyCommand(
        "rulebridge.cli.schema:schema",
        "Print the JSON Schema (draft 2020-12) for rulesets or another file kind.",
    ),
    "serve": LazyCommand(
        "rulebridge.cli.serve:serve_command",
        "Serve Fixflo's webhooks for one agency: each issue change reaches Alto within seconds.",
    ),
    "simulate": LazyCommand(
        "rulebridge.cli.simulate:simulate",
        "Play a Fixflo issue scenario through the ruleset's lifecycle into a simulated Alto.",
    ),
    "snapshot": LazyCommand(
        "rulebridge.cli.snapshot:snapshot",
        "Read every collection of SYSTEM (alto or fixflo) into a snapshot file.",
    ),
    "store": LazyCommand(
        "rulebridge.cli.store:store",
        "Show the agency's state store, or rebuild it from what Alto and Fixflo hold.",
    ),
    "test": LazyCommand(
        "rulebridge.cli.test:run_tests_command",
        "Run the ruleset test files under PATHS (default rulesets/) and report every failure.",
    ),
    "tui": LazyCommand(
        "rulebridge.cli.tui:tui",
        "Step a Fixflo issue through the ruleset's lifecycle and watch Alto react.",
    ),
    "validate": LazyCommand(
        "rulebridge.cli.validate:validate",
        "Check rulesets, settings files, agency configs and ruleset test files (files or "
        "folders, searched for *.yaml).",
    ),
}


@click.group(cls=LazyGroup, lazy=_COMMANDS, context_settings=CONTEXT)
@click.version_option(package_name="rulebridge")
def main() -> None:
    """rulebridge: versioned YAML rulesets for Alto, Fixflo and Jupix integrations.

    Example:

        rulebridge validate rulesets/
    """
