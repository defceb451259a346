"""A Grid whose ``send_and_receive`` polls every 0.1 s instead of every 3 s.

In ``flwr==1.41`` ``Grid.send_and_receive`` sleeps 3 s between pulls (hard-coded
in the gRPC/HTTP grid). Workflows we do not own (``SecAggPlusWorkflow``, four
``send_and_receive`` calls per round) then pay up to 3 s per stage for
nothing. :class:`FastGrid` wraps any Grid and keeps every method but that one,
which it implements as :meth:`~Grid.push_messages` plus a
:meth:`~Grid.pull_messages` loop every ``poll_interval_s``, with the same
timeout semantics (``None``: wait until every reply came).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from flwr.app import Message, RecordDict
from flwr.serverapp import Grid
from flwr.supercore.run import Run

__all__ = ["FastGrid"]


class FastGrid(Grid):
    """``grid`` with a fast-polling :meth:`send_and_receive`."""

    def __init__(self, grid: Grid, poll_interval_s: float = 0.1) -> None:
        self.grid = grid
        self.poll_interval_s = poll_interval_s

    def set_run(self, run: Run) -> None:
        """Delegate to the wrapped grid."""
        self.grid.set_run(run)

    @property
    def run(self) -> Run:
        """The wrapped grid's run."""
        return self.grid.run

    def create_message(
        self,
        content: RecordDict,
        message_type: str,
        dst_node_id: int,
        group_id: str,
        ttl: float | None = None,
    ) -> Message:
        """Delegate to the wrapped grid."""
        return self.grid.create_message(content, message_type, dst_node_id, group_id, ttl)

    def get_node_ids(self) -> Iterable[int]:
        """Delegate to the wrapped grid."""
        return self.grid.get_node_ids()

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        """Delegate to the wrapped grid."""
        return self.grid.push_messages(messages)

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        """Delegate to the wrapped grid."""
        return self.grid.pull_messages(message_ids)

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        """Push, then pull every ``poll_interval_s`` until all replies or ``timeout``."""
        pending = set(self.grid.push_messages(messages))
        deadline = None if timeout is None else time.monotonic() + timeout
        replies: list[Message] = []
        while pending:
            got = list(self.grid.pull_messages(pending))
            replies.extend(got)
            pending.difference_update(m.metadata.reply_to_message_id for m in got)
            if not pending or (deadline is not None and time.monotonic() >= deadline):
                break
            time.sleep(self.poll_interval_s)
        return replies
