"""Bringing the sandbox's consortium up: the coordinator, then every node, enrolled for real.

:func:`start_coordinator` starts ``harmonia-coordinator serve --flower`` with
the sandbox's admin token and waits until it answers. :func:`start_node` does
what hospital IT does for one site, given the one-time token the coordinator
issued: ``harmonia-node enroll`` (the node's keys, its certificate, the
pinned CA and signing key), the site's statistics and training policies
(:func:`write_policies`), then ``harmonia-node serve --dicom-port`` — which
syncs the consortium's guideline releases at once and then every
:data:`GUIDELINE_SYNC_MINUTES`, and runs the SuperNode and the learning
service. The sandbox starts every site this way side by side and waits for
each node to answer.
"""

from __future__ import annotations

import json
from pathlib import Path

from coordinator.sandbox.layout import Layout
from coordinator.sandbox.processes import Service, run_command

__all__ = [
    "COORDINATOR",
    "GUIDELINE_SYNC_MINUTES",
    "NODE",
    "start_coordinator",
    "start_node",
    "write_policies",
]

COORDINATOR, NODE = "coordinator.cli", "node.cli"

GUIDELINE_SYNC_MINUTES = 0.1
"""How often a sandbox node syncs guideline releases (6 s; a hospital's node: 15 min)."""


def start_coordinator(layout: Layout, admin_token: str, services: list[Service]) -> Service:
    """Start ``serve --flower`` on the layout's ports and wait until it is healthy.

    It is appended to ``services`` before it starts, so it is stopped with the rest.
    """
    ports = layout.coordinator_ports
    coordinator = Service(
        "coordinator",
        COORDINATOR,
        [
            *("serve", "--data-dir", str(layout.coordinator_dir)),
            *("--port", str(ports.admin), "--site-port", str(ports.site)),
            *("--flower", "--fleet-port", str(ports.fleet)),
            *("--superlink-port", str(ports.superlink)),
        ],
        layout.coordinator_url,
        layout.log("coordinator"),
        {"HARMONIA_COORDINATOR_BOOTSTRAP_TOKEN": admin_token},
    )
    services.append(coordinator)
    coordinator.start(deadline_s=300)
    return coordinator


def start_node(
    layout: Layout,
    site: str,
    enrollment_token: str,
    admin_token: str,
    services: list[Service],
) -> Service:
    """Enroll ``site``'s node, write its policies and start ``serve`` (not waiting for it).

    The node is appended to ``services`` before it starts, so it is stopped with the rest.
    """
    data_dir = layout.node_dir(site)
    data_dir.mkdir(parents=True, exist_ok=True)
    run_command(
        NODE,
        [
            *("enroll", "--data-dir", str(data_dir), "--coordinator", layout.coordinator_url),
            *("--token", enrollment_token),
        ],
        log=layout.log(site),
    )
    write_policies(data_dir)
    ports = layout.node_ports[site]
    node = Service(
        site,
        NODE,
        [
            *("serve", "--data-dir", str(data_dir)),
            *("--port", str(ports.http), "--dicom-port", str(ports.dicom)),
        ],
        layout.node_url(site),
        layout.log(site),
        {
            "HARMONIA_NODE_BOOTSTRAP_TOKEN": admin_token,
            "HARMONIA_NODE_SESSION_COOKIE_SECURE": "false",
            "HARMONIA_NODE_GUIDELINE_SYNC_MINUTES": str(GUIDELINE_SYNC_MINUTES),
            # step 9 shows 'assist run' and counts its drafts: serve's background drafts
            # would predict the drafts project first and leave that run nothing to do
            "HARMONIA_NODE_BACKGROUND_DRAFTS": "false",
        },
    )
    services.append(node)
    node.start(wait=False)
    return node


def write_policies(data_dir: Path) -> None:
    """The site's statistics and training policies (what hospital IT writes by hand)."""
    from node.stats.release import POLICY_FILE

    (data_dir / POLICY_FILE).write_text(
        json.dumps(
            {
                "epsilon": 20.0,
                "delta": 1e-4,
                "allow_noise_free": True,
                "allow_per_site_release": True,
            }
        )
    )
    (data_dir / "training-policy.json").write_text(
        json.dumps({"epsilon": 200.0, "delta": 1e-2, "release_site_metrics": True})
    )
