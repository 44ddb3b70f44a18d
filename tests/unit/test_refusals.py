"""The rate-limited refusal counter behind the overload and connection-limit log lines."""

from __future__ import annotations

import logging

import pytest

from spin_py.server.refusals import RefusalLog


def test_the_first_refusal_is_logged_then_counted_into_the_next_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    refusals = RefusalLog(logging.getLogger("test.refusals"), "refused {count}, {total} total")
    with caplog.at_level(logging.WARNING, "test.refusals"):
        for _ in range(5):
            refusals.count()
    assert [r.getMessage() for r in caplog.records] == ["refused 1, 1 total"]
    assert refusals.total == 5


def test_a_line_per_interval_with_the_count_since_the_last(
    caplog: pytest.LogCaptureFixture,
) -> None:
    refusals = RefusalLog(logging.getLogger("test.refusals"), "{count}/{total}", interval=0.0)
    with caplog.at_level(logging.WARNING, "test.refusals"):
        refusals.count()
        refusals.count()
    assert [r.getMessage() for r in caplog.records] == ["1/1", "1/2"]
