"""Round history from stored results, and each site's reported privacy charges."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from coordinator.errors import NotFoundError
from coordinator.rounds import RoundHistory, RoundStore, round_summary, site_charges


def result(round_id: str, sites: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "round_id": round_id,
        "started_at": f"2026-01-0{round_id[-1]}T10:00:00+00:00",
        "project": "lung",
        "guideline": "lung",
        "version": "1",
        "noise": True,
        "noise_multiplier": 4.0,
        "wall_time_s": 1.5,
        "sites": sites,
        "figures": {"nodule": {"kappa": 0.5}},
        **extra,
    }


ANSWERED = {
    "status": "answered",
    "bytes_total": 100,
    "epsilon": [0.25, 0.5],
    "delta": [1e-6, 1e-6],
}


def test_a_summary_names_who_answered_refused_or_was_missing() -> None:
    summary = round_summary(
        result(
            "r1",
            {
                "a": ANSWERED,
                "b": {"status": "refused", "message": "budget"},
                "c": {"status": "missing", "message": "no reply"},
            },
        )
    )
    assert summary["answered"] == ["a"]
    assert summary["refused"] == ["b"]
    assert summary["missing"] == ["c"]
    assert summary["bytes_total"] == 100
    assert summary["labels"] == ["nodule"]
    assert summary["guideline"] == "lung" and summary["noise_multiplier"] == 4.0


def test_charges_add_up_per_site_over_rounds() -> None:
    charges = site_charges(
        [
            result("r1", {"a": ANSWERED, "b": {"status": "missing"}}),
            result("r2", {"a": ANSWERED, "b": {"status": "refused"}}),
        ]
    )
    a, b = charges["a"], charges["b"]
    assert (a.rounds_answered, a.releases) == (2, 4)
    assert a.epsilon == pytest.approx(1.5) and a.delta == pytest.approx(4e-6)
    assert a.last_round_id == "r2"
    assert (b.rounds_answered, b.rounds_refused, b.rounds_missing, b.releases) == (0, 1, 1, 0)
    assert b.to_json()["epsilon_sum"] == 0.0


def _store(tmp_path: Path, *results: dict[str, Any]) -> RoundStore:
    store = RoundStore(tmp_path)
    for index, each in enumerate(results):
        path = store.save(each)
        os.utime(path, (1_000_000 + index, 1_000_000 + index))  # oldest first, by mtime
    return store


def test_history_lists_newest_first_and_reads_a_round(tmp_path: Path) -> None:
    history = RoundHistory(_store(tmp_path, result("r1", {"a": ANSWERED}), result("r2", {})))
    assert [s["round_id"] for s in history.summaries()] == ["r2", "r1"]
    assert history.get("r1")["sites"]["a"]["status"] == "answered"
    assert history.charges()["a"].rounds_answered == 1


@pytest.mark.parametrize("round_id", ["nope", "../secrets/ca", ".hidden", "a/b", ""])
def test_an_unknown_or_unsafe_round_id_is_not_found(tmp_path: Path, round_id: str) -> None:
    history = RoundHistory(_store(tmp_path, result("r1", {})))
    with pytest.raises(NotFoundError):
        history.get(round_id)


def test_an_unreadable_result_is_left_out_of_the_list(tmp_path: Path) -> None:
    store = _store(tmp_path, result("r1", {}))
    (store.folder / "broken.json").write_text("{not json")
    history = RoundHistory(store)
    assert [s["round_id"] for s in history.summaries()] == ["r1"]
    with pytest.raises(NotFoundError, match="could not be read"):
        history.get("broken")


def test_no_rounds_folder_is_an_empty_history(tmp_path: Path) -> None:
    history = RoundHistory(RoundStore(tmp_path / "none"))
    assert history.summaries() == [] and history.charges() == {}
