"""The sandbox as a newcomer runs it: ``harmonia-coordinator sandbox --exit-after``.

A real subprocess starts a coordinator and two nodes as separate processes
(TLS, real enrollment), walks every step of the loop and exits 0 only when
each step worked and the flagged label's agreement rose after the revision.
It runs two sites with two cases each (the README's command runs three sites
with four; every step is the same, per site) in a data directory deeper than
a Unix socket address allows, as CI's was: each node's learning service must
still start and train. The test checks the printed steps, URLs, logins and
figures, that every UI answered while it ran (the summary is printed before
shutdown) and that nothing listens any more once it has exited.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from coordinator.sandbox import STEPS, child_environment
from node.learn.client import service_socket

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.heavy,
    pytest.mark.timeout(2400),
]

SITES = ("site-a", "site-b")


def test_sandbox_walks_the_whole_loop_and_stops_everything(tmp_path: Path) -> None:
    data_dir = tmp_path / "a-data-directory-deeper-than-a-unix-socket-address-allows" / "sandbox"
    node_socket = service_socket(data_dir / "nodes" / "site-a")
    assert len(os.fsencode(node_socket)) > 107  # beyond sun_path
    result = subprocess.run(
        [
            *(sys.executable, "-m", "coordinator.cli", "sandbox", "--sites", str(len(SITES))),
            *("--cases", "2", "--data-dir", str(data_dir), "--exit-after"),
        ],
        capture_output=True,
        text=True,
        env=child_environment(),
        timeout=2300,
        check=False,
    )
    out = result.stdout
    print(out)  # the steps' times and the figures, shown with -rA or -s
    assert result.returncode == 0, f"{out}\n{result.stderr}"
    for number, step in enumerate(STEPS, start=1):
        assert f"step {number}/{len(STEPS)}: {step}: ok" in out, out
    assert "flagged labels: lesion" in out
    figures = {
        name: float(value)
        for name, value in re.findall(
            r"agreement \(pooled Dice\) (before|after) revision: +([\d.]+)", out
        )
    }
    assert figures["after"] > figures["before"], out
    # every node's learning service trained: the run completed with every site
    assert re.search(r"DP training rounds: ok: 1 round\(s\); model Dice [\d.]+", out), out
    assert re.search(r"model sandbox-lesions@\S+ Dice: [\d.]+", out), out
    dashboard = re.search(r"coordinator dashboard: (http://127\.0\.0\.1:\d+)/ui/", out)
    assert dashboard is not None and re.search(r"admin token: hca_sandbox_\S+", out)
    nodes = re.findall(r"(site-[a-z]) UI: (http://127\.0\.0\.1:\d+)/ui/", out)
    assert [site for site, _ in nodes] == list(SITES)
    logins = r"users: admin, reviewer, reader1, reader2, reader3  password: \S+"
    assert len(re.findall(logins, out)) == len(SITES)
    assert f"stopped {len(SITES) + 1} process(es)" in out
    # the assistant ran on every node with the pulled model and reported its drafts
    drafts = re.search(r"step 12/12: AI drafts on every node: ok: (.*)", out)
    assert drafts is not None, out
    counts = dict(re.findall(r"(site-[a-z]) (\d+) draft", drafts.group(1)))
    assert list(counts) == list(SITES) and sum(map(int, counts.values())) > 0, out
    # the DP run fine-tuned the seed model pre-trained on public phantoms (imported as version 1)
    assert re.search(r"seed model pre-trained on public phantoms: ok: sandbox-lesions@1, ", out)
    assert re.search(r"model sandbox-lesions@2 Dice: [\d.]+", out), out
    # ... and both are scored on the same public held-out phantoms
    public = r"model Dice on public held-out phantoms: seed ([\d.]+), sandbox-lesions@2 ([\d.]+)"
    assert re.search(public, out), out
    # every process is gone: nothing answers on the printed addresses
    for url in [dashboard.group(1), *(u for _, u in nodes)]:
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/healthz", timeout=5)
    assert (data_dir / "logs" / "coordinator.log").is_file()
