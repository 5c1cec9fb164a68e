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
