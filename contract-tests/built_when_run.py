"""schemathesis' per-operation tests are built when they run, not when pytest collects them.

`@SCHEMA.parametrize()` builds, for every operation at collection, the Hypothesis test with all the coverage
phase's deterministic cases attached (boundaries, missing and wrong fields, other methods): ~40 s of CPU for
openapi.yaml and twilio.yaml, most of `pytest --collect-only`. Every pytest-xdist worker collects the whole
suite, so every worker paid it, though one worker runs a module's tests over one database. Here the test
collected is a stand-in with the same signature (the fixtures pytest passes it), and the real test is built
just before the item runs, once per operation (its SQLite and PostgreSQL items share it, as they did when
schemathesis built it at collection). What runs, with which cases, is unchanged.

schemathesis calls `build_operation_test` from its collector; the stand-in is returned for the tests of
contract-tests/ only.

An operation's test is built twice, once with the coverage phase and once without: the coverage phase runs
over one database only (conftest.py says which and why).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from schemathesis.generation.hypothesis.builder import HypothesisTestMode
from schemathesis.pytest import _test_builder

HERE = Path(__file__).resolve().parent
_build_operation_test = _test_builder.build_operation_test
_enabled_modes = _test_builder.enabled_modes
BUILD = "_contract_build_operation_test"  # the stand-in's attribute: builds the real test
_without_coverage = [False]  # set while a test is built without the coverage phase


def _modes(phases: Any) -> list[HypothesisTestMode]:
    # What build_operation_test asks for, from the merged phase config of the operation: one place that
    # decides whatever the configs of single operations say.
    modes = _enabled_modes(phases)
    return [mode for mode in modes if mode is not HypothesisTestMode.COVERAGE] if _without_coverage[0] else modes


def _build(coverage: bool, **kwargs: Any) -> Callable:
    _without_coverage[0] = not coverage
    try:
        return _build_operation_test(**kwargs)
    finally:
        _without_coverage[0] = False


def _build_when_run(*, test_func: Callable, given_kwargs: dict[str, Any], **kwargs: Any) -> Callable:
    if not Path(inspect.getfile(inspect.unwrap(test_func))).resolve().is_relative_to(HERE):
        return _build_operation_test(test_func=test_func, given_kwargs=given_kwargs, **kwargs)

    def stand_in(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the schemathesis test was not built before it ran (see built_when_run.py)")

    # The signature of the test Hypothesis builds: the test function's, less what Hypothesis provides.
    provided = {"case", *given_kwargs}
    signature = inspect.signature(test_func)
    stand_in.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p for name, p in signature.parameters.items() if name not in provided])
    stand_in.__name__ = test_func.__name__
    setattr(stand_in, BUILD, functools.cache(functools.partial(
        _build, test_func=test_func, given_kwargs=given_kwargs, **kwargs)))
    return stand_in


_test_builder.build_operation_test = _build_when_run
_test_builder.enabled_modes = _modes


def build(item: pytest.Item, *, coverage: bool) -> None:
    """Put the real test in place of the stand-in, before pytest (and Hypothesis' plugin) look at it: with the
    coverage phase or without it."""
    stand_in = getattr(item, "obj", None)
    builder = getattr(stand_in, BUILD, None)
    if builder is not None:
        item.obj = builder(coverage)  # type: ignore[attr-defined]
