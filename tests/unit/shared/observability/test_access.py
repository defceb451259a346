"""Who may read /metrics."""

from __future__ import annotations

import pytest

from shared.observability import MetricsAccess, metrics_access


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "127.0.0.5", "localhost"])
def test_loopback_reads_without_a_token(host: str) -> None:
    assert metrics_access(host, None, None) is MetricsAccess.ALLOWED


@pytest.mark.parametrize("host", ["10.0.0.7", "testclient", None, ""])
def test_others_are_refused_without_a_token(host: str | None) -> None:
    assert metrics_access(host, "Bearer whatever", None) is MetricsAccess.LOOPBACK_ONLY


def test_with_a_token_everyone_must_present_it() -> None:
    token = "m" * 32
    assert metrics_access("10.0.0.7", f"Bearer {token}", token) is MetricsAccess.ALLOWED
    assert metrics_access("10.0.0.7", f"bearer {token}", token) is MetricsAccess.ALLOWED
    assert metrics_access("127.0.0.1", None, token) is MetricsAccess.TOKEN_REQUIRED
    assert metrics_access("10.0.0.7", "Bearer wrong", token) is MetricsAccess.TOKEN_REQUIRED
    assert metrics_access("10.0.0.7", token, token) is MetricsAccess.TOKEN_REQUIRED
