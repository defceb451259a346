"""The node's Flower ClientApp: answers statistics queries, nothing else.

Torch-free and thin: it reads ``data-path`` and ``site`` from the SuperNode's
``node_config``, hands the request to :func:`node.stats.release_statistics`
(which computes, noises, charges and releases through the egress gate) and
replies with the released bytes as records (:mod:`node.clientapp.records`).
A refusal (budget exceeded, noise-free not allowed, unknown project) is a
normal reply with ``status.ok = False`` and the node's message, so the
coordinator reports it instead of waiting.
"""

from __future__ import annotations

from pathlib import Path

from flwr.app import Context, Message
from flwr.clientapp import ClientApp

from node.clientapp.records import refusal_records, release_records
from node.stats import StatisticsRequest, release_statistics
from shared.errors import HarmoniaError

__all__ = ["app"]

app = ClientApp()


@app.query()
def statistics(message: Message, context: Context) -> Message:
    """Answer a statistics query with the gate's released bytes (or a refusal)."""
    site = str(context.node_config.get("site", ""))
    data_dir = Path(str(context.node_config["data-path"]))
    config = message.content.config_records["request"]
    try:
        request = StatisticsRequest.from_config(dict(config))
        releases = release_statistics(data_dir, request)
    except HarmoniaError as refusal:
        return Message(
            refusal_records(site, type(refusal).__name__, str(refusal)), reply_to=message
        )
    return Message(release_records(site, releases), reply_to=message)
