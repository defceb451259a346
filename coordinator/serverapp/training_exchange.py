"""One message per site and the replies that come back: push, then a fast pull loop.

:func:`exchange` sends one message to each node with :meth:`Grid.push_messages`
and pulls the replies every ``poll_s`` (0.1 s) with :meth:`Grid.pull_messages`
instead of ``send_and_receive``'s 3 s polls, until every node answered or the
deadline passed. :func:`wait_for_nodes` waits until enough SuperNodes are
connected. Sites are named from the coordinator's registrations (node id →
site); a node without one is ``node-<id>``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flwr.app import Message, RecordDict
from flwr.serverapp import Grid

__all__ = ["Exchange", "exchange", "load_registry", "wait_for_nodes"]


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
) -> Exchange:
    """Push ``content(node)`` to each node and collect the replies until ``timeout_s``."""
    started = time.monotonic()
    messages = [
        Message(content(node), dst_node_id=node, message_type=message_type, group_id=group_id)
        for node in nodes
    ]
    pending = dict(zip(grid.push_messages(messages), nodes, strict=True))
    result = Exchange(push_s=time.monotonic() - started)
    deadline = time.monotonic() + timeout_s
    while pending and time.monotonic() < deadline:
        for reply in grid.pull_messages(list(pending)):
            node = pending.pop(reply.metadata.reply_to_message_id, None)
            if node is not None:
                result.replies[node] = reply
        if pending:
            time.sleep(poll_s)
    result.missing = sorted(pending.values())
    result.wall_s = time.monotonic() - started
    return result
