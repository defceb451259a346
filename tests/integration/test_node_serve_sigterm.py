"""``harmonia-node serve`` stopped with SIGTERM ends through its clean-up, with status 0.

uvicorn handles SIGTERM while it serves, then raises it again; before
``serve`` caught that second signal the process died of it (status -15) and
skipped stopping its SuperNode, learning service and SCP: the SuperNode was
killed without leaving the SuperLink, which then refused a restarted node for
up to a minute. The federation-level effect (a restarted node let in at its
first start) is checked by ``test_benchmark_federated_overhead.py``.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.support.node_process import running_node

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_sigterm_stops_serve_through_its_clean_up(tmp_path: Path) -> None:
    with running_node(tmp_path / "node") as node:
        node.process.send_signal(signal.SIGTERM)
        status = node.process.wait(timeout=120)
    assert status == 0, node.output()[-3000:]
