"""Routers of the node API, one module per resource family."""
