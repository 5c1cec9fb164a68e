"""Hooks of the whole run, loaded by pytest-xdist's controller as well (it runs no test and reads no other
conftest when the run is given one directory): how `make test`'s parallel run groups the tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.scheduling import GroupSecondsRecorder, ModuleDatabaseScheduling


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--record-group-seconds", metavar="PATH", default=None,
                     help="write each module-and-database unit's seconds to PATH (tests/support/scheduling.py)")


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("record_group_seconds")
    if path and not hasattr(config, "workerinput"):  # the controller, or a run without xdist
        config.pluginmanager.register(GroupSecondsRecorder(Path(path)), "group-seconds-recorder")


@pytest.hookimpl(optionalhook=True, tryfirst=True)  # before xdist's own, which would answer for loadgroup
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> ModuleDatabaseScheduling | None:
    """`--dist loadgroup`: ours (tests/support/scheduling.py says why); other modes: xdist's."""
    return ModuleDatabaseScheduling(config, log) if config.getvalue("dist") == "loadgroup" else None
