"""What a node's administrators must see: alerts raised by background work, until dismissed.

The periodic guideline sync raises one when the coordinator serves a release
that fails verification (:class:`AlertKind`). :class:`AlertStore` keeps them
in the node's database: a repeat of the same problem counts up on the same
alert instead of raising another, and an administrator's dismissal holds for
that problem. The admin UI shows the open ones as a banner.
"""

from node.alerts.store import Alert, AlertKind, AlertStore

__all__ = ["Alert", "AlertKind", "AlertStore"]
