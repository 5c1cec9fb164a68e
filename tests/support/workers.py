"""What one pytest-xdist worker of `make test` may use without meeting another worker: its share of a port range.

`make test` runs the suite in several worker processes at once (pytest-xdist, README "Development"). Ports the
kernel hands out (port 0) never collide; the RTP ranges tests give servers and endpoints are fixed, and two
workers drawing from one range could hand a port just released by one test to another test at once, with the
first test's stray packets still on their way. Each worker draws from its own slice instead.
"""

from __future__ import annotations

import os


def worker_index() -> tuple[int, int]:
    """(this worker's number, how many workers run): (0, 1) outside xdist."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ...
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    return (int(name[2:]), count) if name.startswith("gw") else (0, 1)


def port_slice(first: int, last: int) -> tuple[int, int]:
    """This worker's part of the range [first, last]: the whole range outside xdist, else an equal share
    (starting on an even port, as RTP ports do)."""
    index, count = worker_index()
    if count == 1:
        return first, last
    size = (last - first + 1) // count
    start = first + index * size
    start += start & 1
    return start, min(last, first + (index + 1) * size - 1)


def group_by_module_and_database(items: list) -> None:
    """Marks each test for `--dist loadgroup`: the tests of one module over one database run on one worker.

    A module's server (tests/calls' `voice`) and the contract run's app are started once per module and
    database; spread over several workers they would start once per worker, and a worker would switch its
    session's database (close, create, open) back and forth. Tests already in a group keep theirs.

    Not in effect with pytest 9.2 and pytest-xdist 3.8: xdist's worker puts the group into `item._nodeid`,
    which pytest 9 no longer reads (a node's id is `_id` now), so the scheduler sees no groups and spreads
    each module over all workers, as `--dist load` does (seen in a 6-worker run: contract-tests/test_contract.py
    over PostgreSQL ran on all six; its tests took 1,022 s of worker time there, setups included).
    """
    import pytest

    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue
        callspec = getattr(item, "callspec", None)
        database = callspec.params.get("database") if callspec is not None else None
        group = item.nodeid.split("::", 1)[0] + (f"@{database}" if database else "")
        item.add_marker(pytest.mark.xdist_group(group))
