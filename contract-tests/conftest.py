"""Fixtures of the contract run: every contract test runs over SQLite and over PostgreSQL; a tally at the end."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import built_when_run
import pytest
from harness import APP, DATABASES, TALLY, Run, postgres_reachable, throwaway_database, unreachable_reason

PHASES = ("examples", "coverage", "fuzzing", "stateful")
ELAPSED: dict[str, float] = {}  # seconds each database's contract modules took, from first test to last, summed


@pytest.fixture(scope="module", params=DATABASES)
def database(request: pytest.FixtureRequest) -> Iterator[str]:
    """The app serves from a database of this kind (PostgreSQL: one created for the run, dropped after).

    Module scope: pytest runs all the tests of one kind, then all of the other, opening each once.
    """
    kind: str = request.param
    with throwaway_database(kind) as url:
        if url is None:
            pytest.skip(unreachable_reason())
        with APP.use_database(url):
            Run.database = kind
            started = time.monotonic()
            try:
                yield kind
            finally:
                ELAPSED[kind] = ELAPSED.get(kind, 0.0) + time.monotonic() - started
                Run.database = "none"


# The coverage phase (schemathesis' deterministic cases: each parameter missing, of the wrong type, at and past
# its bounds, other methods) runs over one database: PostgreSQL, the production one, whose types are the
# stricter (integer ranges, string lengths, NUL in text), or SQLite when PostgreSQL cannot be reached, so that
# no operation goes without it. Most of its cases are refused by validation before any handler runs (400, 401,
# 405), the same whatever the database, and they were most of the contract run's CPU: 7,800 cases per database
# for openapi.yaml and 2,300 for twilio.yaml. The examples, fuzzing and stateful phases, whose cases reach the
# database, run over both. Over SQLite the coverage phase still runs, through a real socket and server, in
# tests/live_contract (the schemathesis CLI, all phases). Measured with tests.support.cpu_profile, serially: the
# two contract modules took 128 s of CPU with it over both databases, 107 s over PostgreSQL only.
COVERAGE_DATABASE = "postgres"


def _runs_coverage(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    database = callspec.params.get("database") if callspec is not None else None
    return database == COVERAGE_DATABASE or (database == "sqlite" and not postgres_reachable())


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # schemathesis' test of an operation, built as it runs, not at collection
    built_when_run.build(item, coverage=_runs_coverage(item))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In a worker of a parallel run: hand this worker's tally to the controller, which prints the summary."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["contract_tally"] = [[*key, dict(counts)] for key, counts in TALLY.items()]
        workeroutput["contract_elapsed"] = dict(ELAPSED)


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: the controller, as each worker ends
def pytest_testnodedown(node: object, error: object) -> None:
    output = getattr(node, "workeroutput", {})
    for database, phase, label, counts in output.get("contract_tally", []):
        TALLY[(database, phase, label)].update({int(status): n for status, n in counts.items()})
    for kind, seconds in output.get("contract_elapsed", {}).items():
        ELAPSED[kind] = ELAPSED.get(kind, 0.0) + seconds


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How many test cases each operation got, per phase, and what the app answered."""
    if not TALLY:
        return
    write = terminalreporter.write_line
    terminalreporter.section("contract run: test cases per operation and phase")
    phases = [*PHASES, *sorted({phase for (_, phase, _) in TALLY} - set(PHASES))]
    for kind in DATABASES:
        labels = sorted({label for (database, _, label) in TALLY if database == kind},
                        key=lambda label: (label.split(" ", 1)[1], label))
        if not labels:
            continue
        total = sum(sum(counts.values()) for (database, _, _), counts in TALLY.items() if database == kind)
        width = max(len(label) for label in labels)
        per_phase_total = {phase: sum(sum(counts.values()) for (database, p, _), counts in TALLY.items()
                                      if database == kind and p == phase) for phase in phases}
        write(f"{kind}: {total} test cases in {ELAPSED.get(kind, 0):.1f} s; per phase: "
              + ", ".join(f"{phase} {n}" for phase, n in per_phase_total.items()))
        write(f"  {'operation':<{width}}" + "".join(f"{phase:>9}" for phase in phases) + "    statuses (all phases)")
        for label in labels:
            per_phase = [sum(TALLY.get((kind, phase, label), Counter()).values()) for phase in phases]
            statuses: Counter[int] = Counter()
            for phase in phases:
                statuses.update(TALLY.get((kind, phase, label), Counter()))
            write(f"  {label:<{width}}" + "".join(f"{n:>9}" for n in per_phase)
                  + "    " + " ".join(f"{status}:{n}" for status, n in sorted(statuses.items())))
