"""The node's HTTP layer: routes only; the work happens in the domain packages."""

from node.api.app import create_app

__all__ = ["create_app"]
