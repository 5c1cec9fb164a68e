"""`make test`'s parallel run gives each module's tests over one database to one worker, longest units first
(tests/support/scheduling.py): a run of three workers over a small suite of its own says which worker ran what."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from tests.support.scheduling import group_of

ROOT = Path(__file__).resolve().parents[1]

MODULE = '''
import pytest

@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database(request):
    return request.param

@pytest.mark.parametrize("n", range({count}))
def test_over_a_database(database, n):
    pass

def test_without_one():
    pass
'''

CONFTEST = '''
import pytest
from tests.support import scheduling

# As if recorded: the small module is the slow one. The rest are guessed from their size (9 tests or fewer).
SECONDS = {"test_small.py@postgres": 100.0, "test_small.py@sqlite": 90.0, "test_medium.py@sqlite": 80.0}

@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config, log):
    return scheduling.ModuleDatabaseScheduling(config, log, seconds=SECONDS)
'''


def test_group_of_reads_the_module_and_the_database_parameter() -> None:
    assert group_of("tests/test_a.py::test_list[postgres]") == "tests/test_a.py@postgres"
    assert group_of("tests/test_a.py::test_status[sqlite-busy]") == "tests/test_a.py@sqlite"
    assert group_of("tests/test_a.py::TestX::test_status[busy-postgres]") == "tests/test_a.py@postgres"
    assert group_of("tests/test_a.py::test_status[busy]") == "tests/test_a.py"
    assert group_of("tests/test_a.py::test_plain") == "tests/test_a.py"
    assert group_of("tests/test_a.py::test_x[sqlite-postgres.example]") == "tests/test_a.py@sqlite"
    assert group_of("contract-tests/test_c.py::test_operation[GET /Accounts.json][postgres]") == \
        "contract-tests/test_c.py@postgres"
    assert group_of("tests/test_a.py::test_x[1]@mygroup") == "mygroup"  # xdist's own suffix, where it works


def test_each_module_and_database_runs_on_one_worker_longest_first(tmp_path: Path) -> None:
    sizes = {"test_small": 2, "test_medium": 5, "test_large": 9}
    for name, count in sizes.items():
        (tmp_path / f"{name}.py").write_text(MODULE.format(count=count))
    (tmp_path / "conftest.py").write_text(CONFTEST)
    # Only xdist of the installed plugins: each worker starts in a second, not in the several schemathesis takes.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_ADDOPTS"):  # this run's, not that one's
        env.pop(name, None)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "3", "--dist", "loadgroup", "-v", "-p", "xdist.plugin",
         "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr

    workers: dict[str, set[str]] = defaultdict(set)
    first_on: dict[str, str] = {}  # each worker's first unit
    for worker, nodeid in re.findall(r"^\[(gw\d+)\] \[\s*\d+%\] PASSED (.+?)\s*$", run.stdout, re.MULTILINE):
        workers[group_of(nodeid)].add(worker)
        first_on.setdefault(worker, group_of(nodeid))
    assert len(workers) == 3 * len(sizes), run.stdout  # each module: over sqlite, over postgres, without one
    assert {group: len(ran_on) for group, ran_on in workers.items()} == dict.fromkeys(workers, 1), run.stdout
    # The three longest by the recorded seconds start first, one on each worker, before the larger ones.
    assert set(first_on.values()) == {"test_small.py@postgres", "test_small.py@sqlite", "test_medium.py@sqlite"}, \
        run.stdout
