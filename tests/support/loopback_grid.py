"""A Grid that delivers messages to real ClientApps in this process (Flower's transport left out).

Each node is a real :class:`flwr.clientapp.ClientApp` (with its real mods)
and a persistent :class:`flwr.app.Context`, as a SuperNode keeps one per
run. Messages and replies are deep-copied on the way, as serialization
would. ``stop_after`` simulates a node killed mid-protocol: after it has
answered that many messages it never answers again.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from itertools import count
from typing import Any

from flwr.app import Context, Error, Message, RecordDict
from flwr.clientapp import ClientApp
from flwr.common.constant import ErrorCode
from flwr.serverapp import Grid
from flwr.supercore.run import Run
from flwr.supercore.task_identity import TaskIdentity

_ids = count(1)


def stamp_message_id(message: Message) -> str:
    """Give a pushed message an id, as the SuperLink does (what ``push_messages`` returns)."""
    message_id = f"m{next(_ids)}"
    message.metadata.__dict__["_message_id"] = message_id
    return message_id


class LoopbackGrid(Grid):
    """``nodes``: node id → (ClientApp, node_config)."""

    def __init__(
        self,
        nodes: Mapping[int, tuple[ClientApp, dict[str, Any]]],
        *,
        stop_after: Mapping[int, int] | None = None,
    ) -> None:
        self.nodes = dict(nodes)
        self.contexts = {
            nid: Context(run_id=1, node_id=nid, node_config=cfg, state=RecordDict(), run_config={})
            for nid, (_app, cfg) in nodes.items()
        }
        self.stop_after = dict(stop_after or {})
        self.answered: dict[int, int] = dict.fromkeys(nodes, 0)
        self.replies: dict[str, Message] = {}
        self.sent: list[Message] = []
        self._run = Run.create_empty(1)
        # what a ServerApp process has set before its main runs (Message() reads it)
        TaskIdentity.run_id = 1
        TaskIdentity.node_id = 0
        TaskIdentity.task_id = 1

    def set_run(self, run: Run) -> None:
        self._run = run

    @property
    def run(self) -> Run:
        return self._run

    def create_message(
        self,
        content: RecordDict,
        message_type: str,
        dst_node_id: int,
        group_id: str,
        ttl: float | None = None,
    ) -> Message:
        return Message(content, dst_node_id, message_type, ttl=ttl, group_id=group_id)

    def get_node_ids(self) -> Iterable[int]:
        return list(self.nodes)

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        ids = []
        for message in messages:
            message_id = stamp_message_id(message)
            ids.append(message_id)
            nid = message.metadata.dst_node_id
            if self.answered[nid] >= self.stop_after.get(nid, 10**9):
                continue  # a killed node never answers
            delivered = Message(
                copy.deepcopy(message.content),
                nid,
                message.metadata.message_type,
                group_id=message.metadata.group_id,
            )
            delivered.metadata.__dict__["_message_id"] = message_id
            app, _config = self.nodes[nid]
            try:
                reply = app(message=delivered, context=self.contexts[nid])
            except Exception as exc:  # as flwr-clientapp does: an error reply with the reason
                reason = f"{type(exc)}:<'{exc}'>"
                reply = Message(
                    Error(code=ErrorCode.CLIENT_APP_RAISED_EXCEPTION, reason=reason),
                    reply_to=delivered,
                )
            self.answered[nid] += 1
            self.sent.append(reply)
            if not reply.has_error():
                reply = Message(copy.deepcopy(reply.content), reply_to=delivered)
            self.replies[message_id] = reply
        return ids

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        return [self.replies.pop(i) for i in list(message_ids) if i in self.replies]

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        return self.pull_messages(self.push_messages(messages))
