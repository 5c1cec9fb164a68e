"""How `make test`'s parallel run (pytest-xdist, `--dist loadgroup`) hands the suite's tests to its workers.

A work unit is the tests of one module over one database (`group_of`): a module's server (tests/calls' `voice`)
and the contract run's app start once per module and database, and a worker that ran a module's tests
interleaved with other modules' would switch its session's database (close, create, open) back and forth.

xdist's own `loadgroup` reads the group from a suffix its workers append to each test's node id (`item._nodeid`);
pytest 9.2 keeps a node's id elsewhere (`_id`), so that suffix never reaches the scheduler and each module is
spread over all workers (pytest-xdist issue 1386, open in 3.8.0, the newest release). This scheduler needs no
suffix: the controller sees every test's node id, and the module and database can be read from it.

The workers take the longest units first (the seconds each took in a recorded run, GROUP_SECONDS): xdist would
otherwise hand them out by how many tests they hold, and a long unit started last would run alone at the end.
`pytest -n 4 --dist loadgroup --record-group-seconds=tests/support/group_seconds.json` records them afresh.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
from xdist.scheduler import LoadScopeScheduling

DATABASES = ("sqlite", "postgres")  # the `database` fixtures' parameters (tests/conftest.py, contract-tests/)
GROUP_SECONDS = Path(__file__).with_name("group_seconds.json")
UNKNOWN_SECONDS_PER_TEST = 1.0  # a unit missing from GROUP_SECONDS (a new module): a guess at its length


def group_of(nodeid: str) -> str:
    """`path/to/test_module.py@database` for a test over one database, else the module's path.

    The database is the test's parameter id `sqlite` or `postgres` (pytest writes a test's parameter ids in
    brackets, joined by `-`: `test_list[postgres]`, `test_status[sqlite-busy]`; schemathesis adds a pair of its
    own: `test_operation[GET /Accounts.json][sqlite]`). A group xdist's own
    `xdist_group` mark put after an `@` (pytest before 9.2) is kept as it is.
    """
    if nodeid.rfind("@") > nodeid.rfind("]"):
        return nodeid.rsplit("@", 1)[1]
    path, _, name = nodeid.partition("::")
    database = None
    if name.endswith("]") and "[" in name:
        # schemathesis' tests carry a second pair of brackets: `test_operation[GET /Accounts.json][sqlite]`
        ids = name[name.index("[") + 1:-1].replace("][", "-").split("-")
        database = next((part for part in ids if part in DATABASES), None)
    return f"{path}@{database}" if database else path


def recorded_seconds(path: Path = GROUP_SECONDS) -> dict[str, float]:
    try:
        return {group: float(seconds) for group, seconds in json.loads(path.read_text()).items()}
    except (OSError, ValueError):
        return {}


class ModuleDatabaseScheduling(LoadScopeScheduling):
    """xdist's scheduling by scope (a whole unit to one worker), with our units, longest first."""

    def __init__(self, config: pytest.Config, log: object = None, seconds: dict[str, float] | None = None) -> None:
        super().__init__(config, log)
        self.seconds = recorded_seconds() if seconds is None else seconds

    def _split_scope(self, nodeid: str) -> str:
        return group_of(nodeid)

    def _estimate(self, group: str) -> float:
        seconds = self.seconds.get(group)
        return seconds if seconds is not None else UNKNOWN_SECONDS_PER_TEST * len(self.workqueue[group])

    def _assign_work_unit(self, node: object) -> None:
        # The base class hands out the workqueue's first unit: put the longest there (the first of equals).
        longest = max(self.workqueue, key=self._estimate)
        self.workqueue.move_to_end(longest, last=False)
        super()._assign_work_unit(node)


class GroupSecondsRecorder:
    """Sums each unit's seconds (setup, call and teardown of its tests) and writes them as GROUP_SECONDS reads
    them. Registered in the controller (or the only process, without xdist), which sees every test's report."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seconds: dict[str, float] = defaultdict(float)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[group_of(report.nodeid)] += report.duration

    def pytest_sessionfinish(self) -> None:
        ordered = dict(sorted(((group, round(seconds, 1)) for group, seconds in self.seconds.items()),
                              key=lambda pair: -pair[1]))
        self.path.write_text(json.dumps(ordered, indent=1) + "\n")
