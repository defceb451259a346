"""Rendering latency: the node's rendered slices and MPR reslices against Orthanc's /rendered.

One CT phantom (300 slices of 512x512 by default) is stored in a node and in
Orthanc. Both are asked for the same slices as JPEG (the DICOMweb default for
``/rendered``); the node also renders coronal and sagittal MPR reslices. Each
figure is the latency of one HTTP request over loopback, measured from a
separate client process. Target: p95 no worse than Orthanc's.
Run: ``python benchmarks/render.py [--quick]``.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import httpx
from _harness import emit, percentile, print_table

from node.runtime import open_node
from node.settings import NodeSettings
from shared.phantoms import SITE_STYLES, PhantomSpec, generate_series, write_series
from tests.dicom_samples import multipart_body
from tests.support.node_process import running_node
from tests.support.orthanc import running_orthanc


def _timed_get(client: httpx.Client, url: str, accept: str) -> float:
    start = time.perf_counter()
    response = client.get(url, headers={"Accept": accept})
    elapsed = time.perf_counter() - start
    if response.status_code != 200 or not response.content:
        raise SystemExit(f"GET {url} answered {response.status_code}: {response.text[:300]}")
    return elapsed * 1000


def _summary(values: list[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(values, 50), 2), "p95_ms": round(percentile(values, 95), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI size: 12 slices, 24 requests")
    parser.add_argument("--requests", type=int, default=None)
    args = parser.parse_args()
    slices = 12 if args.quick else 300
    requests = args.requests or (24 if args.quick else 200)
    rng = random.Random(7)

    with tempfile.TemporaryDirectory(prefix="harmonia-bench-") as tmp:
        work = Path(tmp)
        series = generate_series(
            PhantomSpec(
                modality="CT",
                rows=512,
                columns=512,
                slices=slices,
                seed=3,
                style=SITE_STYLES["siemens-like"],
            )
        )
        files = write_series(series, work / "phantom")
        data_dir = work / "node" / "data"
        with open_node(NodeSettings(data_dir=data_dir)) as runtime:
            outcomes = [runtime.ingest.ingest_file(f, source="bench") for f in files]
        node_study = outcomes[0].stored_study_instance_uid
        node_series = outcomes[0].stored_series_instance_uid
        node_instances = [o.stored_sop_instance_uid for o in outcomes]
        originals = [(o.sop_instance_uid or "") for o in outcomes]

        with running_orthanc(work / "orthanc") as orthanc, httpx.Client(timeout=60) as client:
            body, content_type = multipart_body([f.read_bytes() for f in files])
            stored = client.post(
                f"{orthanc.dicomweb_url}/studies",
                content=body,
                headers={"Content-Type": content_type},
            )
            stored.raise_for_status()
            base = (
                f"{orthanc.dicomweb_url}/studies/{series.study_instance_uid}"
                f"/series/{series.series_instance_uid}/instances"
            )
            picks = [rng.randrange(len(files)) for _ in range(requests)]
            _timed_get(client, f"{base}/{originals[0]}/rendered", "image/jpeg")  # warm-up
            orthanc_ms = [
                _timed_get(client, f"{base}/{originals[i]}/rendered", "image/jpeg") for i in picks
            ]

        with (
            running_node(data_dir) as node,
            httpx.Client(timeout=60, headers={"Authorization": f"Bearer {node.token}"}) as client,
        ):
            base = f"{node.url}/dicom-web/studies/{node_study}/series/{node_series}/instances"
            _timed_get(client, f"{base}/{node_instances[0]}/rendered", "image/jpeg")  # warm-up
            node_ms = [
                _timed_get(client, f"{base}/{node_instances[i]}/rendered", "image/jpeg")
                for i in picks
            ]
            mpr = f"{node.url}/api/v1/series/{node_series}/mpr"
            cold_mpr_ms = _timed_get(client, f"{mpr}/coronal/256", "image/jpeg")
            mpr_ms = [
                _timed_get(
                    client,
                    f"{mpr}/{rng.choice(['coronal', 'sagittal'])}/{rng.randrange(512)}",
                    "image/jpeg",
                )
                for _ in range(requests)
            ]

    figures = {
        "orthanc_rendered": _summary(orthanc_ms),
        "node_rendered": _summary(node_ms),
        "node_mpr_warm": _summary(mpr_ms),
        "node_mpr_cold_ms": round(cold_mpr_ms, 1),
    }
    rows = [[name, f["p50_ms"], f["p95_ms"]] for name, f in figures.items() if isinstance(f, dict)]
    print_table(
        f"rendered 512x512 JPEG, {requests} requests each", ["endpoint", "p50 ms", "p95 ms"], rows
    )
    print(f"first MPR request (assembles the {slices}-slice volume): {cold_mpr_ms:.0f} ms")
    ratios = {
        "rendered_p95_node_vs_orthanc": figures["node_rendered"]["p95_ms"]  # type: ignore[index]
        / figures["orthanc_rendered"]["p95_ms"],  # type: ignore[index]
        "mpr_p95_node_vs_orthanc_rendered": figures["node_mpr_warm"]["p95_ms"]  # type: ignore[index]
        / figures["orthanc_rendered"]["p95_ms"],  # type: ignore[index]
    }
    for name, value in ratios.items():
        print(f"ratio {name}: {value:.2f} (lower is better; target <= 1)")
    emit(
        {
            "benchmark": "render",
            "slices": slices,
            "requests": requests,
            **figures,
            "ratios": {k: round(v, 3) for k, v in ratios.items()},
            "quick": args.quick,
        }
    )


if __name__ == "__main__":
    main()
