"""Subcommands of ``harmonia-coordinator``, one module each with ``register(subparsers)``."""
