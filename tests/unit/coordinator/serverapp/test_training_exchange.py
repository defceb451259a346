"""``exchange``: replies, missing nodes, and a node asked again after it rejoined."""

from __future__ import annotations

from collections.abc import Iterable

from flwr.app import ConfigRecord, Error, Message, RecordDict
from flwr.common.constant import ErrorCode
from flwr.supercore.task_identity import TaskIdentity

from coordinator.serverapp.training_exchange import MAX_ASKS, exchange
from tests.support.loopback_grid import stamp_message_id


class ScriptedGrid:
    """A Grid whose nodes answer from a script: per node, one behaviour per push.

    ``"ok"`` answers at once, ``"gone"`` is answered by the SuperLink with
    NODE_UNAVAILABLE (a registration deactivated by the node's restart),
    ``"silent"`` never answers. ``offline_polls`` is how many ``get_node_ids``
    calls leave a node out after it became unavailable (its restart).
    """

    def __init__(self, script: dict[int, list[str]], offline_polls: int = 2) -> None:
        self.script = {node: list(steps) for node, steps in script.items()}
        self.offline_polls = offline_polls
        self.offline: dict[int, int] = {}
        self.pushed: list[int] = []
        self.replies: dict[str, Message] = {}
        # what a ServerApp process has set before its main runs (Message() reads it)
        TaskIdentity.run_id, TaskIdentity.node_id, TaskIdentity.task_id = 1, 0, 1

    def get_node_ids(self) -> Iterable[int]:
        for node in list(self.offline):
            self.offline[node] -= 1
            if self.offline[node] < 0:
                del self.offline[node]
        return [node for node in self.script if node not in self.offline]

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        ids = []
        for message in messages:
            message_id = stamp_message_id(message)
            ids.append(message_id)
            node = message.metadata.dst_node_id
            self.pushed.append(node)
            step = self.script[node].pop(0) if self.script[node] else "silent"
            if step == "ok":
                content = RecordDict({"reply": ConfigRecord({"node": node})})
                self.replies[message_id] = Message(content, reply_to=message)
            elif step == "gone":
                error = Error(code=ErrorCode.NODE_UNAVAILABLE, reason="node unavailable")
                self.replies[message_id] = Message(error, reply_to=message)
                self.offline[node] = self.offline_polls
        return ids

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        return [self.replies.pop(i) for i in list(message_ids) if i in self.replies]


def _run(grid: ScriptedGrid, *, rejoin_s: float, timeout_s: float = 5.0):  # type: ignore[no-untyped-def]
    return exchange(
        grid,  # type: ignore[arg-type]
        sorted(grid.script),
        lambda _node: RecordDict(),
        message_type="train",
        timeout_s=timeout_s,
        poll_s=0.001,
        rejoin_s=rejoin_s,
    )


def test_every_node_answers_once() -> None:
    grid = ScriptedGrid({1: ["ok"], 2: ["ok"]})
    result = _run(grid, rejoin_s=5)
    assert sorted(result.replies) == [1, 2] and result.missing == [] and result.asked_again == []
    assert grid.pushed == [1, 2]


def test_a_node_unavailable_then_back_is_asked_again_and_answers() -> None:
    grid = ScriptedGrid({1: ["ok"], 2: ["gone", "ok"]})
    result = _run(grid, rejoin_s=5)
    assert not result.replies[2].has_error()
    assert result.asked_again == [2] and result.missing == []
    assert grid.pushed == [1, 2, 2]


def test_without_a_rejoin_window_the_unavailable_reply_is_kept() -> None:
    grid = ScriptedGrid({1: ["ok"], 2: ["gone", "ok"]})
    result = _run(grid, rejoin_s=0)
    assert result.replies[2].has_error() and result.asked_again == []
    assert grid.pushed == [1, 2]


def test_a_node_not_back_within_the_window_keeps_its_error_reply() -> None:
    grid = ScriptedGrid({1: ["ok"], 2: ["gone"]}, offline_polls=10**9)
    result = _run(grid, rejoin_s=0.05)
    assert result.replies[2].has_error()
    assert result.replies[2].error.code == ErrorCode.NODE_UNAVAILABLE
    assert result.asked_again == [] and grid.pushed == [1, 2]


def test_a_node_that_keeps_going_away_is_asked_at_most_max_asks_times() -> None:
    grid = ScriptedGrid({1: ["ok"], 2: ["gone"] * (MAX_ASKS + 2)})
    result = _run(grid, rejoin_s=5)
    assert grid.pushed.count(2) == MAX_ASKS and result.replies[2].has_error()
    assert result.asked_again == [2] * (MAX_ASKS - 1)


def test_a_silent_node_is_missing_at_the_deadline() -> None:
    grid = ScriptedGrid({1: ["ok"], 2: ["silent"]})
    result = _run(grid, rejoin_s=5, timeout_s=0.05)
    assert sorted(result.replies) == [1] and result.missing == [2]
