"""A real node with a phantom CT series and users, and Debian's Chromium, for the UI tests.

Shared by the end-to-end tests and ``benchmarks/slice_scroll.py``: the node runs as a separate
process on 127.0.0.1 (tests/support/node_process.py), images arrive by STOW-RS, users are
created through ``POST /api/users`` with the bootstrap admin token.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from shared.phantoms import SITE_STYLES, PhantomSpec, dataset_to_bytes, generate_series
from tests.dicom_samples import multipart_body
from tests.support.node_process import NodeProcess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PASSWORD = "correct horse battery staple"


def launch_chromium(playwright: Any) -> Any:
    """Headless Chromium from Debian (never a browser that Playwright downloads)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def artifacts_dir(default: Path) -> Path:
    """Where screenshots go: ``$HARMONIA_TEST_ARTIFACTS`` or ``default``."""
    path = Path(os.environ.get("HARMONIA_TEST_ARTIFACTS") or default)
    path.mkdir(parents=True, exist_ok=True)
    return path


def admin_client(node: NodeProcess) -> httpx.Client:
    return httpx.Client(
        base_url=node.url, timeout=120, headers={"Authorization": f"Bearer {node.token}"}
    )


@dataclass(frozen=True)
class StoredSeries:
    study: str
    series: str
    slices: int


def stow_phantom(
    node: NodeProcess, *, slices: int, size: int = 256, seed: int = 11, chunk: int = 50
) -> StoredSeries:
    """Send a generated CT phantom to the node by STOW-RS; returns the UIDs as stored."""
    phantom = generate_series(
        PhantomSpec(
            modality="CT",
            rows=size,
            columns=size,
            slices=slices,
            seed=seed,
            style=SITE_STYLES["siemens-like"],
        )
    )
    datasets = list(phantom.datasets())
    with admin_client(node) as client:
        for start in range(0, len(datasets), chunk):
            body, content_type = multipart_body(
                [dataset_to_bytes(d) for d in datasets[start : start + chunk]]
            )
            answer = client.post(
                "/dicom-web/studies", content=body, headers={"Content-Type": content_type}
            )
            answer.raise_for_status()
        found = client.get("/dicom-web/series", params={"Modality": "CT"})
        found.raise_for_status()
    # The node may de-identify: look the series up as stored, newest match by instance count.
    for item in found.json():
        count = int(item.get("00201209", {}).get("Value", [0])[0])
        if count == slices:
            return StoredSeries(
                study=item["0020000D"]["Value"][0],
                series=item["0020000E"]["Value"][0],
                slices=slices,
            )
    raise AssertionError(f"the node does not list a {slices}-slice CT series: {found.text[:500]}")


def create_user(node: NodeProcess, username: str, role: str) -> None:
    with admin_client(node) as client:
        answer = client.post(
            "/api/users",
            json={
                "username": username,
                "password": PASSWORD,
                "role": role,
                "display_name": username.title(),
            },
        )
        assert answer.status_code in (200, 201), answer.text
