"""Statistics rounds, the privacy boundary and the harmonization loop on real processes.

One federation for the whole module: a coordinator and 3 nodes on 127.0.0.1.
The coordinator runs ``serve --flower`` (SuperLink with TLS and SuperNode
authentication behind the Fleet proxy) with ``capture_dir`` set, so its admin,
site (mTLS) and Fleet proxy listeners write every byte they receive, after
TLS, to files (:mod:`coordinator.capture`). The nodes are enrolled through the
real CLI and their ``serve`` runs the SuperNode. Each node ingested phantom CT
series through its real ingest (de-identification runs) whose DICOM headers
carry canary strings in every identifying attribute, and holds Lung-RADS
readings of 2–3 readers per task, with a different amount of disagreement per
site, made through the node's annotation domain.

* The statistics tests sum the sites' statistics under Flower's SecAgg+; only
  hosp-a's policy allows per-site releases.
* Then every site allows per-site releases; a calibration set is published,
  fetched, annotated and uploaded, one more noise-free round runs and the
  harmonization report is read (:func:`harmonization_round`).
* The canary test searches everything the coordinator received until then —
  enrollment, syncs, the calibration uploads and the secure, per-site, noised
  and refused rounds — for every canary in several encodings: none is there.
  A positive control sends canaries on purpose, to the site listener and to
  the Fleet proxy, and the same search finds each of them.
* A node killed mid secure sum is dropped and the round completes; its
  ``serve`` is started again (its API, not its SuperNode, is needed after).
* The revision test checks that report (the Lung-RADS label is flagged: site
  c's readers disagree), publishes a revised, signed guideline that changes
  the label's meaning, and has every node sync it and upgrade its project:
  the changed tasks land in each node's re-review queue, read through the
  node's API. It runs last: it changes the project.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import yaml
from sqlalchemy.engine import Engine

from node.egress import EgressLedger, Outcome
from node.store.database import create_database_engine
from tests.support.canaries import find_canaries, read_all
from tests.support.canary_sites import (
    CALIBRATION,
    SET_ID,
    add_users,
    admin_token,
    annotate_calibration,
    forge_requests,
    readers,
    site_canaries,
)
from tests.support.federation import (
    Federation,
    cli,
    environment,
    running_federation,
    wait_healthy,
)
from tests.support.node_process import stop
from tests.support.stats_sites import (
    EXAMPLE,
    PLANS,
    PROJECT,
    node_settings,
    union_figures,
    write_policy,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.heavy,
    pytest.mark.timeout(3600),
]

SITES = ("hosp-a", "hosp-b", "hosp-c")
POLICY_EPSILON = 9.0  # one noised secure round at z=2 (about 8.74) fits; a second does not


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    root = tmp_path_factory.mktemp("federation")
    with running_federation(
        root,
        SITES,
        policy_epsilon=POLICY_EPSILON,
        per_site={"hosp-a"},
        coordinator_env={"HARMONIA_COORDINATOR_CAPTURE_DIR": str(root / "capture")},
    ) as running:
        yield running


def _engine(data_dir: Path) -> Engine:
    return create_database_engine(node_settings(data_dir).resolved_database_url, durable=False)


def _released(engine: Engine, round_id: str | None = None) -> list[Any]:
    entries = EgressLedger(engine).entries(outcome=Outcome.RELEASED)
    return [e for e in entries if round_id is None or e.round_id == round_id]


def _ledger(data_dir: Path, round_id: str | None = None) -> list[Any]:
    engine = _engine(data_dir)
    try:
        return _released(engine, round_id)
    finally:
        engine.dispose()


def _exact_confusion(federation: Federation) -> np.ndarray:
    from node.stats import agreement_payload
    from tests.support.stats_sites import project_data

    total = None
    for data_dir in federation.node_dirs.values():
        for entry in agreement_payload(project_data(data_dir))["statistics"]:
            if (entry["label"], entry["statistic"]) == ("lung-rads", "confusion"):
                counts = np.asarray(entry["arrays"]["counts"], dtype=float)
                total = counts if total is None else total + counts
    assert total is not None
    return total


def test_noise_free_secure_round_equals_agreement_on_the_union(federation: Federation) -> None:
    result = federation.round("--no-noise", "--reply-timeout", "60")
    report = result["secure_aggregation"]
    assert report["status"] == "completed", federation.diagnostics()
    assert result["mode"] == "secure"
    assert report["survivors"] == list(SITES) and report["threshold"] == 2
    assert result["answered"] == list(SITES) and result["missing"] == []
    reference = union_figures(list(federation.node_dirs.values()))
    assert result["figures"]["lung-rads"] == reference["lung-rads"]  # exactly, not approx
    assert result["figures"]["lung-rads"]["n_pairs"] == 4 + 3 * 3 + 4 * 3
    # per-site figures only from the site whose policy allows them
    assert result["per_site"]["released"] == ["hosp-a"]
    assert result["per_site"]["not_allowed"] == ["hosp-b", "hosp-c"]
    assert set(result["per_site_figures"]) == set(result["per_site_pooled"]) == {"hosp-a"}
    assert (
        result["per_site_figures"]["hosp-a"]["lung-rads"]
        == (union_figures([federation.node_dirs["hosp-a"]])["lung-rads"])
    )
    for site, data_dir in federation.node_dirs.items():
        entries = _ledger(data_dir, result["round_id"])
        summed = [e for e in entries if e.destination == "superlink/secure-sum"]
        assert [e.kind for e in summed] == ["agreement_statistics", "diversity_statistics"]
        # the layout and the four SecAgg+ stages: ledgered, never charged
        protocol = [e for e in entries if e.kind == "secure_aggregation"]
        assert len(protocol) == 5 and all(e.epsilon is None for e in protocol)
        reported = result["sites"][site]
        assert reported["secure"] == "summed"
        for entry in [*summed, protocol[0]]:  # what the coordinator was told matches the ledger
            index = reported["sha256"].index(entry.sha256)
            assert reported["bytes"][index] == entry.byte_count
        per_site = [
            e for e in entries if e.destination == "superlink" and e.kind != "secure_aggregation"
        ]
        assert len(per_site) == (2 if site == "hosp-a" else 0)
    stored = cli(
        "coordinator.cli",
        "round",
        "show",
        result["round_id"],
        "--data-dir",
        str(federation.coordinator_dir),
    )
    document = json.loads(stored.stdout)
    assert document["figures"] == result["figures"]
    assert set(document["per_site_figures"]) == {"hosp-a"}  # nothing per site from b or c


def test_without_secure_aggregation_only_per_site_releases_count(federation: Federation) -> None:
    result = federation.round("--no-noise", "--no-secure-aggregation", "--reply-timeout", "60")
    assert result["mode"] == "per-site"
    assert result["secure_aggregation"]["status"] == "not-requested"
    assert result["answered"] == ["hosp-a"]
    assert result["missing"] == ["hosp-b", "hosp-c"]
    assert result["sites"]["hosp-b"]["per_site"] == "not-allowed"
    reference = union_figures([federation.node_dirs["hosp-a"]])
    assert result["figures"]["lung-rads"] == reference["lung-rads"]
    released = _ledger(federation.node_dirs["hosp-a"], result["round_id"])
    assert [e.kind for e in released] == ["agreement_statistics", "diversity_statistics"]
    assert [e.sha256 for e in released] == result["sites"]["hosp-a"]["sha256"]
    assert _ledger(federation.node_dirs["hosp-b"], result["round_id"]) == []


def test_noised_secure_round_is_within_the_mechanism_bound_then_the_budget_refuses(
    federation: Federation,
) -> None:
    z = 2.0
    result = federation.round("--noise-multiplier", str(z), "--delta", "1e-5", "--no-per-site")
    assert result["secure_aggregation"]["status"] == "completed", federation.diagnostics()
    assert result["answered"] == list(SITES)
    # per site one Gaussian with sigma = z * (pairs per task): r=2 -> 1, r=3 -> 3; rounding
    # moves each site's count by at most 0.5, and clipping at 0 moves it towards the truth or
    # by less than the noise it removes
    sigma = z * np.sqrt(1**2 + 3**2 + 3**2)
    counts = np.asarray(result["pooled"]["lung-rads"]["confusion"]["counts"], dtype=float)
    assert np.abs(counts - _exact_confusion(federation)).max() <= 5 * sigma + 1.5
    for site, data_dir in federation.node_dirs.items():
        charged = [e for e in _ledger(data_dir, result["round_id"]) if e.epsilon is not None]
        assert [e.mechanism for e in charged] == ["gaussian-z2-k6", "gaussian-z2-k6"]
        assert charged[-1].spent_epsilon == pytest.approx(8.7403, abs=1e-3)
        assert result["sites"][site]["epsilon"] == [e.epsilon for e in charged]
    again = federation.round("--noise-multiplier", str(z), "--delta", "1e-5", check=False)
    assert again["answered"] == []
    assert again["secure_aggregation"]["status"] == "skipped"
    for site in SITES:
        refusal = again["sites"][site]
        assert refusal["status"] == "refused"
        assert refusal["error"] == "BudgetExceededError"
        assert "budget" in refusal["message"] and "left" in refusal["message"]


def node_cli(*args: str) -> str:
    result = cli("node.cli", *args, check=False)
    assert result.returncode == 0, f"node {args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def harmonization_round(federation: Federation) -> dict[str, Any]:
    """Every site allows per-site releases; a calibration set is published, fetched,
    annotated and uploaded by every node; then a noise-free round over all three (a
    long deadline: the machine may be shared) and the harmonization report it feeds
    (read at once: a later round would be the report's newest)."""
    coordinator = str(federation.coordinator_dir)
    for site in SITES:  # the budget the noised round spent stays spent
        write_policy(federation.node_dirs[site], epsilon=POLICY_EPSILON, delta=1e-4)
    cli("coordinator.cli", "guideline", "publish", str(EXAMPLE), "--data-dir", coordinator)
    calibration_file = federation.logs / "calibration.json"
    calibration_file.write_text(json.dumps(CALIBRATION))
    cli(
        "coordinator.cli", "calibration", "publish", str(calibration_file),
        "--data-dir", coordinator,
    )  # fmt: skip
    in_process = threading.Lock()  # open_node migrates: one at a time in this process

    def calibrate(index: int, site: str) -> None:
        data_dir = federation.node_dirs[site]
        with in_process:
            add_users(data_dir, readers(index))
        assert "lung-nodule@1.0" in node_cli("guideline", "sync", "--data-dir", str(data_dir))
        fetched = node_cli(
            "calibration", "fetch", "--data-dir", str(data_dir),
            "--readers", ",".join(readers(index)),
            "--readers-per-task", str(len(readers(index))),
        )  # fmt: skip
        assert f"calibration set {SET_ID}: 2 case(s)" in fetched
        with in_process:
            annotate_calibration(data_dir, index)
        uploaded = node_cli("calibration", "upload", "--data-dir", str(data_dir), "--set", SET_ID)
        assert f"of {len(readers(index))} reader(s)" in uploaded

    # the sites' CLI calls overlap (each is mostly a process start), as nodes' would
    with ThreadPoolExecutor(len(SITES)) as pool:
        futures = [pool.submit(calibrate, index, site) for index, site in enumerate(SITES)]
    for future in futures:
        future.result()
    answer = cli(
        "coordinator.cli", "round", "stats", "--data-dir", coordinator, "--project", PROJECT,
        "--wait-nodes", "120", "--no-noise", "--reply-timeout", "600", "--secagg-timeout", "300",
        timeout_s=2100,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(answer.stdout)
    assert result["answered"] == list(SITES), federation.diagnostics()
    assert result["secure_aggregation"]["status"] == "completed", federation.diagnostics()
    assert result["per_site"]["released"] == list(SITES)
    report = json.loads(
        cli(
            "coordinator.cli", "harmonization", "report", "lung-nodule",
            "--data-dir", coordinator, "--format", "json",
        ).stdout
    )  # fmt: skip
    return {"round": result, "report": report}


def test_no_canary_reaches_the_coordinator(
    federation: Federation, harmonization_round: dict[str, Any]
) -> None:
    received = read_all(federation.logs / "capture")
    by_listener = {
        listener: b"".join(v for k, v in received.items() if k.startswith(f"{listener}-"))
        for listener in ("admin", "site", "fleet")
    }
    # (i) the capture holds the protocol traffic: enrollment, sync, calibration upload, rounds
    assert b"POST /api/v1/enroll " in by_listener["admin"]
    assert by_listener["site"].count(b"GET /api/v1/site/guidelines ") >= len(SITES)
    upload = f"POST /api/v1/site/calibration/{SET_ID}/annotations ".encode()
    assert by_listener["site"].count(upload) == len(SITES)
    assert b'"annotations":[' in by_listener["site"] and b'"lung-rads"' in by_listener["site"]
    assert b"POST /v1/fleet/push-" in by_listener["fleet"]
    # the statistics payload's field names, in the replies the Fleet proxy received
    assert b'"statistic":"confusion"' in by_listener["fleet"]
    assert b'"label":"lung-rads"' in by_listener["fleet"]
    for site in SITES:
        reported = harmonization_round["round"]["sites"][site]
        assert reported["bytes"], reported
    # (ii) no canary, in any encoding, anywhere in what the coordinator received
    canaries = site_canaries(len(SITES))
    assert len(canaries) >= 16 * 3
    hits = find_canaries(canaries, received)
    assert hits == [], hits[:10]

    # positive control: canaries sent on purpose are found by the same search
    before = set(received)
    sent = forge_requests(federation.node_dirs["hosp-a"], sorted(canaries)[:5])
    after = read_all(federation.logs / "capture")
    found = find_canaries(canaries, after)
    assert {(h.canary, h.encoding) for h in found} >= set(sent.items())
    assert {h.canary for h in found} == set(sent)
    assert all(h.source not in before for h in found)  # only the forged connections' files
    assert {h.source.split("-")[0] for h in found} == {"site", "fleet"}


def _sent(data_dir: Path) -> int:
    """Replies the node's SuperNode has finished sending (its log's count)."""
    log = data_dir / "flower" / "supernode.log"
    return log.read_text(errors="replace").count("Sent successfully") if log.exists() else 0


def test_a_node_killed_mid_secure_sum_is_reported_and_the_round_completes(
    federation: Federation,
) -> None:
    command = [
        sys.executable,
        "-m",
        "coordinator.cli",
        "round",
        "stats",
        "--data-dir",
        str(federation.coordinator_dir),
        "--project",
        PROJECT,
        "--no-noise",
        "--wait-nodes",
        "40",
        "--reply-timeout",
        "300",  # a deadline, not a wait: every node is alive until its keys are shared
        "--secagg-timeout",
        "45",  # the killed node never answers; each stage it is still asked waits this long;
        # a live node on a loaded CI machine must not be mistaken for it
    ]
    victim_dir = federation.node_dirs["hosp-c"]
    victim = federation.nodes["hosp-c"]
    engine = _engine(victim_dir)
    try:
        before = len([e for e in _released(engine) if e.kind == "secure_aggregation"])
        sent_before = _sent(victim_dir)
        running = subprocess.Popen(command, stdout=subprocess.PIPE, env=environment())
        try:
            end = time.monotonic() + 120
            while time.monotonic() < end:  # hosp-c released its layout and its SecAgg+ keys
                done = len([e for e in _released(engine) if e.kind == "secure_aggregation"])
                if done >= before + 3:
                    break
                time.sleep(0.1)
            # ... and its SuperNode finished sending them: Flower stores reply objects by
            # content, so a node killed mid-upload can leave another node's reply, which
            # names the same object, unavailable too (CI saw hosp-a dropped with hosp-c)
            while time.monotonic() < end and _sent(victim_dir) < sent_before + 3:
                time.sleep(0.05)
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait(timeout=30)
            out, _err = running.communicate(timeout=900)
        finally:
            stop(running)
    finally:
        engine.dispose()
        if victim.poll() is not None:  # the revision reads its re-review queue over HTTP
            federation.spawn_node("hosp-c")  # it waits for the node's health
    result = json.loads(out)
    report = result["secure_aggregation"]
    assert report["status"] == "completed", f"{json.dumps(result)}\n{federation.diagnostics()}"
    assert report["survivors"] == ["hosp-a", "hosp-b"]
    # the stage it drops in depends on how far it got before the kill on a loaded machine (a
    # node slower than --secagg-timeout is dropped too); every stage is covered exactly by
    # tests/unit/coordinator/serverapp/test_secure_aggregation.py
    assert report["dropped"] == {"hosp-c": report["dropped"]["hosp-c"]}
    assert report["dropped"]["hosp-c"] in ("setup", "share_keys", "collect_masked_vectors")
    assert result["answered"] == ["hosp-a", "hosp-b"]
    assert result["missing"] == ["hosp-c"]
    reference = union_figures([federation.node_dirs["hosp-a"], federation.node_dirs["hosp-b"]])
    assert result["figures"]["lung-rads"] == reference["lung-rads"]


def test_a_revision_of_a_flagged_label_reaches_rereview_on_every_node(
    federation: Federation, harmonization_round: dict[str, Any], tmp_path: Path
) -> None:
    coordinator = str(federation.coordinator_dir)
    report = harmonization_round["report"]  # read right after the round
    round_id = harmonization_round["round"]["round_id"]
    assert report["rounds"][-1]["round_id"] == round_id, report["rounds"]
    assert "lung-rads" in report["flagged_labels"], report
    assert "lung-rads" in report["sites_below_target"].get("hosp-c", []), report

    revised = yaml.safe_load(EXAMPLE.read_text())
    revised["version"] = "1.1"
    lung_rads = next(label for label in revised["labels"] if label["name"] == "lung-rads")
    lung_rads["definition"] = "Lung-RADS v2022 category of the most suspicious nodule."
    lung_rads["criteria"] += " Category 2 includes perifissural nodules under 10 mm."
    revised_file = tmp_path / "lung-nodule-1.1.json"
    revised_file.write_text(json.dumps(revised))
    cli("coordinator.cli", "guideline", "publish", str(revised_file), "--data-dir", coordinator)

    assert federation.node_ports is not None
    for index, site in enumerate(SITES):
        data_dir = federation.node_dirs[site]
        wait_healthy(federation.node_url(site), federation.nodes[site])  # hosp-c restarted
        synced = node_cli("guideline", "sync", "--data-dir", str(data_dir))
        assert "loaded lung-nodule@1.1" in synced, synced
        upgraded = node_cli(
            "project", "upgrade", "--data-dir", str(data_dir),
            "--project", PROJECT, "--guideline", "lung-nodule@1.1",
        )  # fmt: skip
        assert "labels changed in meaning: lung-rads" in upgraded, upgraded
        parts = sum(len(task) for task in PLANS["abc"[index]])
        assert f"{parts} reader part(s) sent to re-review" in upgraded, upgraded
        queue = httpx.get(
            f"http://127.0.0.1:{federation.node_ports[site]}/api/review/rereview",
            headers={"Authorization": f"Bearer {admin_token(data_dir)}"},
            timeout=60,
        )
        assert queue.status_code == 200, queue.text
        items = queue.json()["items"]
        assert len(items) == parts
        assert {item["reader"] for item in items} == set(readers(index))
        assert all(
            item["reason"].startswith("re-review: guideline lung-nodule@1.1") for item in items
        )


def test_the_search_finds_each_encoding_at_every_alignment() -> None:
    canary = "CANARY-0123456AB"
    for before in (b"", b"x", b"xy", b"xyz"):
        for after in (b"", b"q", b"qr"):
            raw = before + canary.encode() + after
            for name, blob in (
                ("base64", base64.b64encode(raw)),
                ("utf-16-le", raw.decode().encode("utf-16-le")),
                ("utf-16-be", raw.decode().encode("utf-16-be")),
                ("hex", raw.hex().encode()),
                ("HEX", raw.hex().upper().encode()),
                ("utf-8 lower case", raw.lower()),
            ):
                hits = find_canaries([canary], {"blob": blob})
                assert any(h.encoding.startswith(name) for h in hits), (name, before, after)
    assert find_canaries([canary], {"blob": b"CANARY-0123456AC" * 4}) == []
