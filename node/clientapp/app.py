"""The node's Flower ClientApp: statistics queries and the default train handler.

Torch-free and thin: it reads ``data-path`` and ``site`` from the SuperNode's
``node_config`` and hands the work to :mod:`node.stats` (through
:mod:`node.clientapp.statistics`). Every reply leaves through
:func:`~node.clientapp.egress_mod.egress_mod`, the outermost mod.

``query``
    a statistics round's first message: the secure sum's layout and, where
    the site's policy allows, a per-site release. A refusal (budget
    exceeded, noise-free not allowed, unknown project) is a normal reply with
    ``status.ok = False`` and the node's message.
``train`` (the default handler; SecAgg+ acts on it through
:func:`secure_aggregation_mod`)
    dispatches on the fit configuration's ``harmonia-task``: ``statistics``
    adds the site's statistics to a secure sum; ``training`` trains on the
    local consensus (:mod:`node.clientapp.training`, the learning service does
    the compute). An unknown task is an error reply that says so.
``evaluate``
    the global weights on the local validation consensus.

Flower starts a fresh ``flwr-clientapp`` process for every message, so each
handler imports only what its branch needs (the statistics work, or the
training client), not the node's whole stack.
"""

from __future__ import annotations

from typing import Any

from flwr.app import ConfigRecord, Context, Message
from flwr.client.mod import secaggplus_mod
from flwr.clientapp import ClientApp
from flwr.clientapp.typing import ClientAppCallable

from node.clientapp.egress_mod import SECAGG_CONFIGS, egress_mod
from shared.errors import InvalidInputError

__all__ = ["TASK_KEY", "app", "secure_aggregation_mod"]

TASK_KEY = "harmonia-task"
"""The fit configuration key the default train handler dispatches on."""

app = ClientApp(mods=[egress_mod])


def secure_aggregation_mod(
    message: Message, context: Context, call_next: ClientAppCallable
) -> Message:
    """Flower's ``secaggplus_mod`` for messages of the SecAgg+ protocol; others pass through."""
    if SECAGG_CONFIGS in message.content.config_records:
        return secaggplus_mod(message, context, call_next)
    return call_next(message, context)


@app.query()
def statistics(message: Message, context: Context) -> Message:
    """Answer a statistics query in gated form (the egress mod makes the wire records)."""
    from node.clientapp.statistics import answer_query

    config = message.content.config_records["request"]
    return Message(answer_query(dict(config), context), reply_to=message)


def _fit_config(message: Message) -> dict[str, Any]:
    for name in ("fitins.config", "config"):
        record = message.content.config_records.get(name)
        if isinstance(record, ConfigRecord):
            return dict(record)
    return {}


@app.train(mods=[secure_aggregation_mod])
def train(message: Message, context: Context) -> Message:
    """The default train handler: one branch per ``harmonia-task``."""
    config = _fit_config(message)
    task = config.get(TASK_KEY)
    if task == "statistics":
        from node.clientapp.statistics import secure_contribution

        return Message(secure_contribution(config, context), reply_to=message)
    from node.clientapp.training import TRAINING, train_reply

    if task == TRAINING:
        return train_reply(message, context)
    raise InvalidInputError(
        f"this node does not know the train task {task!r}; the tasks it serves are "
        "'statistics' and 'training'. Update the node or fix the round's configuration."
    )


@app.evaluate()
def evaluate(message: Message, context: Context) -> Message:
    """Evaluate the global weights on the local validation consensus (gated form)."""
    from node.clientapp.training import evaluate_reply

    return evaluate_reply(message, context)
