"""Ingest throughput: the node's STOW-RS and C-STORE against Orthanc's, and raw pydicom I/O.

A CT phantom (300 slices of 512x512 by default) is generated once. Each target
gets the same files:

- floor: raw ``pydicom.dcmread`` + ``dcmwrite`` in memory (no de-identification, no disk);
- Orthanc: STOW-RS of one multipart request, and C-STORE over one association;
- the node: the same STOW-RS request and C-STORE association, each instance
  de-identified (PS3.15 Annex E) and stored (fsync'ed file + SQLite row).

The node's peak RSS (VmHWM, its ingest workers included) and the CPU time
each server spends per STOW'd instance are reported too. Target: the node's
throughput at least Orthanc's. Run: ``python benchmarks/ingest.py [--quick]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import httpx
import pydicom
from _harness import (
    cpu_seconds_tree,
    emit,
    median,
    peak_rss_mib,
    peak_rss_tree_mib,
    print_table,
)

from node.dicom.scu import send_files
from shared.phantoms import SITE_STYLES, PhantomSpec, generate_series, write_series
from tests.dicom_samples import multipart_body
from tests.support.node_process import free_port, running_node
from tests.support.orthanc import running_orthanc


def _stow(url: str, files: list[Path], token: str | None) -> float:
    body, content_type = multipart_body([f.read_bytes() for f in files])
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 1 << 20):
            yield body[start : start + (1 << 20)]

    start = time.perf_counter()
    response = httpx.post(url, content=chunks(), headers=headers, timeout=600)
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise SystemExit(f"STOW to {url} answered {response.status_code}: {response.text[:500]}")
    return elapsed


def _cstore(host: str, port: int, called_ae: str, files: list[Path]) -> float:
    start = time.perf_counter()
    statuses = send_files(files, host=host, port=port, ae_title="BENCH", called_ae=called_ae)
    elapsed = time.perf_counter() - start
    failed = [s for s in statuses if s != 0]
    if failed:
        raise SystemExit(f"C-STORE to {called_ae} failed for {len(failed)} instances: {failed[:5]}")
    return elapsed


def _floor(files: list[Path]) -> float:
    blobs = [f.read_bytes() for f in files]
    start = time.perf_counter()
    for blob in blobs:
        ds = pydicom.dcmread(BytesIO(blob))
        pydicom.dcmwrite(BytesIO(), ds, enforce_file_format=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI size: 12 slices, one repeat")
    parser.add_argument("--slices", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=None)
    args = parser.parse_args()
    slices = args.slices or (12 if args.quick else 300)
    repeat = args.repeat or (1 if args.quick else 3)

    with tempfile.TemporaryDirectory(prefix="harmonia-bench-") as tmp:
        work = Path(tmp)
        spec = PhantomSpec(
            modality="CT",
            rows=512,
            columns=512,
            slices=slices,
            seed=1,
            style=SITE_STYLES["siemens-like"],
        )
        files = write_series(generate_series(spec), work / "phantom")
        megabytes = sum(f.stat().st_size for f in files) / 1e6
        print(
            f"phantom: {len(files)} CT instances of 512x512, {megabytes:.1f} MB; {repeat} repeat(s)"
        )

        times: dict[str, list[float]] = {
            k: [] for k in ("floor", "orthanc_stow", "orthanc_cstore", "node_stow", "node_cstore")
        }
        node_rss: list[float] = []
        orthanc_rss: list[float] = []
        # CPU seconds per STOW'd instance: unlike wall time, barely moved by other
        # load on a shared machine, so it shows the cost even when timings are noisy.
        cpu_ms: dict[str, list[float]] = {"orthanc_stow": [], "node_stow": []}
        for attempt in range(repeat):
            times["floor"].append(_floor(files))
            with running_orthanc(work / f"orthanc-{attempt}") as orthanc:
                before = cpu_seconds_tree(orthanc.pid)
                times["orthanc_stow"].append(_stow(f"{orthanc.dicomweb_url}/studies", files, None))
                cpu_ms["orthanc_stow"].append(
                    (cpu_seconds_tree(orthanc.pid) - before) * 1000 / len(files)
                )
                orthanc_rss.append(peak_rss_mib(orthanc.pid))
            with running_orthanc(work / f"orthanc-c-{attempt}") as orthanc:
                times["orthanc_cstore"].append(
                    _cstore("127.0.0.1", orthanc.dicom_port, orthanc.aet, files)
                )
            with running_node(work / f"node-{attempt}" / "data") as node:
                before = cpu_seconds_tree(node.pid)
                times["node_stow"].append(_stow(f"{node.url}/dicom-web/studies", files, node.token))
                cpu_ms["node_stow"].append(
                    (cpu_seconds_tree(node.pid) - before) * 1000 / len(files)
                )
                node_rss.append(peak_rss_tree_mib(node.pid))
            dicom_port = free_port()
            with running_node(
                work / f"node-c-{attempt}" / "data",
                extra_args=["--dicom-port", str(dicom_port), "--allow-ae", "BENCH"],
            ) as node:
                times["node_cstore"].append(_cstore("127.0.0.1", dicom_port, "HARMONIA", files))
                node_rss.append(peak_rss_tree_mib(node.pid))

    count = len(files)
    rate = {k: count / median(v) for k, v in times.items()}
    mbps = {k: megabytes / median(v) for k, v in times.items()}
    rows = [[k, f"{median(v):.2f}", f"{rate[k]:.1f}", f"{mbps[k]:.1f}"] for k, v in times.items()]
    print_table("ingest (median of repeats)", ["path", "seconds", "instances/s", "MB/s"], rows)
    ratios = {
        "stow_node_vs_orthanc": rate["node_stow"] / rate["orthanc_stow"],
        "cstore_node_vs_orthanc": rate["node_cstore"] / rate["orthanc_cstore"],
        "stow_node_vs_floor": rate["node_stow"] / rate["floor"],
    }
    print(
        f"\nnode peak RSS during ingest, with its ingest workers: {max(node_rss):.0f} MiB "
        f"(Orthanc: {max(orthanc_rss):.0f} MiB)"
    )
    cpu_per_instance = {k: round(median(v), 2) for k, v in cpu_ms.items()}
    print(
        f"CPU per STOW'd instance: node {cpu_per_instance['node_stow']} ms "
        f"(all processes), Orthanc {cpu_per_instance['orthanc_stow']} ms"
    )
    for name, value in ratios.items():
        print(f"ratio {name}: {value:.2f}x")
    print(
        "target: node >= Orthanc: "
        + (
            "met"
            if min(ratios["stow_node_vs_orthanc"], ratios["cstore_node_vs_orthanc"]) >= 1
            else "NOT met"
        )
    )
    emit(
        {
            "benchmark": "ingest",
            "instances": count,
            "megabytes": round(megabytes, 1),
            "instances_per_s": {k: round(v, 1) for k, v in rate.items()},
            "megabytes_per_s": {k: round(v, 1) for k, v in mbps.items()},
            "ratios": {k: round(v, 3) for k, v in ratios.items()},
            "node_peak_rss_mib": round(max(node_rss), 1),
            "cpu_ms_per_instance": cpu_per_instance,
            "orthanc_peak_rss_mib": round(max(orthanc_rss), 1),
            "quick": args.quick,
        }
    )


if __name__ == "__main__":
    main()
