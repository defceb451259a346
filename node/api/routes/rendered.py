"""Rendered images: placeholder router until the rendering domain (node/dicom/render.py) lands.

The finished routes (``/rendered``, ``/frames/{n}/rendered``, MPR and volume
geometry) are written against that module's API and wait beside it.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["rendered"])
