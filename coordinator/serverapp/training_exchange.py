"""One message per site and the replies that come back: push, then a fast pull loop.

:func:`exchange` sends one message to each node with :meth:`Grid.push_messages`
and pulls the replies every ``poll_s`` (0.1 s) with :meth:`Grid.pull_messages`
instead of ``send_and_receive``'s 3 s polls, until every node answered or the
deadline passed. :func:`wait_for_nodes` waits until enough SuperNodes are
connected. Sites are named from the coordinator's registrations (node id →
site); a node without one is ``node-<id>``.

**A node that comes back is asked again.** A node killed without leaving
stays *online* on the SuperLink until its heartbeat lapses, so a round may
push to it after it died; when its restarted SuperNode deactivates that
registration and registers again (:mod:`node.supernode_rejoin`), the
SuperLink answers the pending message with ``NODE_UNAVAILABLE``, although
the node is back a few seconds later. :func:`exchange` keeps such a node
for up to ``rejoin_s`` and pushes its message again once it is connected
(at most :data:`MAX_ASKS` times, never past the deadline); a node not back
by then keeps its error reply (the round counts it missing).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flwr.app import Message, RecordDict
from flwr.common.constant import ErrorCode
from flwr.serverapp import Grid

__all__ = ["MAX_ASKS", "Exchange", "exchange", "load_registry", "wait_for_nodes"]

MAX_ASKS = 3
"""How many times one node is sent the same exchange's message (the first push included)."""


def load_registry(path: str) -> dict[int, str]:
    """Node id → site, from the coordinator's ``supernodes.json`` (empty when unreadable)."""
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return {int(entry["node_id"]): str(site) for site, entry in data.items()}


def wait_for_nodes(grid: Grid, expected: int, wait_s: float, poll_s: float) -> list[int]:
    """The connected node ids, once ``expected`` are there or ``wait_s`` passed."""
    deadline = time.monotonic() + wait_s
    nodes = sorted(grid.get_node_ids())
    while len(nodes) < expected and time.monotonic() < deadline:
        time.sleep(poll_s)
        nodes = sorted(grid.get_node_ids())
    return nodes


@dataclass
class Exchange:
    """The replies of one push (by node id), who did not answer, and the timing."""

    replies: dict[int, Message] = field(default_factory=dict)
    missing: list[int] = field(default_factory=list)
    asked_again: list[int] = field(default_factory=list)
    """Nodes that were unavailable and were sent the message again once back (once per push)."""
    push_s: float = 0.0
    wall_s: float = 0.0


def exchange(
    grid: Grid,
    nodes: list[int],
    content: Callable[[int], RecordDict],
    *,
    message_type: str,
    timeout_s: float,
    group_id: str | None = None,
    poll_s: float = 0.1,
    rejoin_s: float = 0.0,
) -> Exchange:
    """Push ``content(node)`` to each node and collect the replies until ``timeout_s``.

    A node the SuperLink reports unavailable is asked again if it is connected
    within ``rejoin_s`` (see the module docstring).
    """
    started = time.monotonic()
    result = Exchange()
    asks = dict.fromkeys(nodes, 0)

    def push(targets: list[int]) -> dict[str, int]:
        messages = [
            Message(content(n), dst_node_id=n, message_type=message_type, group_id=group_id)
            for n in targets
        ]
        for node in targets:
            asks[node] += 1
        return dict(zip(grid.push_messages(messages), targets, strict=True))

    pending = push(nodes)
    result.push_s = time.monotonic() - started
    deadline = time.monotonic() + timeout_s
    away: dict[int, tuple[float, Message]] = {}  # unavailable node → (since, its error reply)
    while (pending or away) and time.monotonic() < deadline:
        for reply in grid.pull_messages(list(pending)):
            node = pending.pop(reply.metadata.reply_to_message_id, None)
            if node is None:
                continue
            if _unavailable(reply) and asks[node] < MAX_ASKS and rejoin_s > 0:
                away[node] = (time.monotonic(), reply)
            else:
                result.replies[node] = reply
        if away:
            connected = set(grid.get_node_ids())
            back = [n for n in away if n in connected]
            for node in [n for n in away if n not in back]:
                since, error_reply = away[node]
                if time.monotonic() - since > rejoin_s:
                    result.replies[node] = error_reply
                    del away[node]
            for node in back:
                del away[node]
                result.asked_again.append(node)
            if back:
                pending.update(push(back))
        if pending or away:
            time.sleep(poll_s)
    for node, (_, reply) in away.items():
        result.replies[node] = reply
    result.missing = sorted(pending.values())
    result.wall_s = time.monotonic() - started
    return result


def _unavailable(reply: Message) -> bool:
    return reply.has_error() and reply.error.code == ErrorCode.NODE_UNAVAILABLE
