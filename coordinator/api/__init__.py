"""The coordinator's HTTP layer: ``create_app``, routes, the error handler, mTLS plumbing."""

from coordinator.api.app import create_app

__all__ = ["create_app"]
