"""Rendered images (placeholder until the rendering module lands)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["dicomweb"])
