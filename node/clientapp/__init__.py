"""The node's Flower ClientApp (Flower handlers only; the work is in :mod:`node.stats`).

``app`` answers the coordinator's statistics queries with the bytes the egress
gate released. The Flower app configuration (``pyproject.toml`` with the
components) is :mod:`coordinator.serverapp`'s ``fab/`` folder.
"""

from node.clientapp.app import app

__all__ = ["app"]
