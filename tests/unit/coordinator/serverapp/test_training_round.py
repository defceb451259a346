from coordinator.serverapp.training_records import SiteReply
from coordinator.serverapp.training_round import pool_evaluation


def _reply(site: str, per_site: bool, evaluation: dict[str, float]) -> SiteReply:
    return SiteReply(site, True, {"per_site": per_site}, evaluation=evaluation)


def test_pooled_figures_are_sums_over_counts_and_per_site_only_where_released() -> None:
    pooled = pool_evaluation(
        [
            _reply("a", True, {"count": 10.0, "dice-sum": 8.0, "loss-sum": 2.0}),
            _reply("b", True, {"count": 30.0, "dice-sum": 12.0, "loss-sum": 6.0}),
            _reply("c", False, {}),
        ]
    )
    assert pooled["pooled"] == {"dice": 0.5, "loss": 0.2, "count": 40.0}
    assert pooled["sites"]["a"] == {"count": 10.0, "dice": 0.8, "loss": 0.2}
    assert set(pooled["sites"]) == {"a", "b"} and pooled["withheld"] == ["c"]


def test_a_noised_count_of_zero_gives_no_ratio_instead_of_a_crash() -> None:
    pooled = pool_evaluation([_reply("a", True, {"count": 0.0, "dice-sum": 1.0})])
    assert pooled["pooled"] == {"count": 0.0}
    assert pooled["sites"]["a"] == {"count": 0.0, "dice": None}
    assert pool_evaluation([]) == {"pooled": {}, "sites": {}, "withheld": []}
