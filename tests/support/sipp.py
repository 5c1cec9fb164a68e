"""sipp as a test peer (testkit/sipp.py): a missing sipp skips the test, and scenarios are looked up in tests/scenarios.

The message trace (`-trace_msg`) is kept so tests can check what actually went on the wire.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from testkit import sipp

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


class Sipp(sipp.Sipp):
    """A test's sipp peer. `scenario` is a file of tests/scenarios, else of testkit/scenarios (those the
    benchmarks run too), or a built-in name ("uas", "uac"); `scenarios` names another folder."""

    def __init__(self, scenario: str, workdir: Path, *, scenarios: Path | None = None, **options: Any) -> None:
        if scenarios is None:
            scenarios = SCENARIOS if (SCENARIOS / scenario).exists() else sipp.SCENARIOS
        super().__init__(scenario, workdir, scenarios=scenarios, **options)

    async def start(self, *, wait_bound: bool = True, attempts: int = 3) -> Sipp:
        if (reason := sipp.missing()) is not None:
            pytest.skip(reason)  # a missing peer skips the test with the reason in the report, never a silent pass
        await super().start(wait_bound=wait_bound, attempts=attempts)
        return self
