"""Subcommands of ``harmonia-node``, one module each with ``register(subparsers)``."""
