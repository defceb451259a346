"""The alert store: raise, count repeats, dismiss (and a dismissal holds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from node.alerts import AlertKind, AlertStore
from node.errors import NotFoundError
from node.runtime import NodeRuntime

KIND = AlertKind.GUIDELINE_RELEASE_REFUSED


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_a_repeat_counts_up_and_a_dismissal_holds(runtime: NodeRuntime) -> None:
    clock = Clock()
    store = AlertStore(runtime.engine, clock=clock)
    first = store.raise_alert(KIND, "chest@1.1", "bad signature")
    clock.now += timedelta(minutes=15)
    again = store.raise_alert(KIND, "chest@1.1", "bad signature")
    assert again.id == first.id and again.occurrences == 2
    assert again.last_seen_at == clock.now and again.first_seen_at == first.first_seen_at
    assert again.first_seen_at.tzinfo is not None
    dismissed = store.dismiss(first.id, by="it-admin")
    assert not dismissed.open and dismissed.dismissed_by == "it-admin"
    assert store.dismiss(first.id, by="someone else").dismissed_by == "it-admin"
    store.raise_alert(KIND, "chest@1.1", "bad signature")  # the same problem: stays dismissed
    assert store.list() == []
    other = store.raise_alert(KIND, "chest@1.1", "signed as chest@1.2")  # a new problem
    assert [a.id for a in store.list()] == [other.id]
    assert [a.id for a in store.list(include_dismissed=True)] == [other.id, first.id]


def test_dismissing_an_unknown_alert_says_how_to_list_them(runtime: NodeRuntime) -> None:
    with pytest.raises(NotFoundError, match="GET /api/alerts"):
        AlertStore(runtime.engine).dismiss(42, by="it-admin")


def test_long_values_are_cut_to_the_columns(runtime: NodeRuntime) -> None:
    alert = AlertStore(runtime.engine).raise_alert(KIND, "x" * 300, "m" * 5000)
    assert len(alert.subject) == 256 and len(alert.message) == 4000
    assert alert.to_json()["open"] is True
