"""Concurrent annotators saving brush masks: save latency, throughput, nothing lost or doubled.

A real node (``harmonia-node serve``, fsync on: SQLite WAL + ``synchronous=FULL``)
gets a CT phantom, a one-label mask guideline, N annotator users (created through
``POST /api/users``) and a project whose single task all N read. Each annotator
signs in (its own session cookie and CSRF token) and, in its own thread with its
own HTTP connection, saves for D seconds: a new mask annotation (RLE on one to
three slices) or a revision of one of its own (``PUT`` with ``base_revision``),
half and half. The strokes are encoded before the clock starts, so the
annotators' threads spend their CPU on sending, not on drawing.

Afterwards every acknowledged (2xx) save is looked up, through the API (each
annotation's revision list, as its owner) and directly in the node's SQLite
file: it must be there with its exact payload (lost = 0), and no annotation may
hold a revision number twice or more revisions than saves were acknowledged
(duplicated = 0).

Baseline, in the same run: the same writes (same payload bytes, same threads,
same order per thread) as plain single-row INSERTs into a bare SQLite file with
the same durability (WAL, ``synchronous=FULL``), one transaction each.

Run: ``python benchmarks/annotation_saves.py [--quick] [--annotators N] [--seconds S]``
(``--quick``, the CI size: 3 annotators for 4 s). Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from _harness import emit, percentile, print_table

from shared.formats.rle import rle_encode
from shared.phantoms import SITE_STYLES, PhantomSpec, dataset_to_bytes, generate_series
from tests.dicom_samples import multipart_body
from tests.support.node_process import running_node

ROWS = COLUMNS = 256
SLICES = 16
PASSWORD = "benchmark-password-0123"
GUIDELINE = {
    "name": "bench-lesion",
    "version": "1",
    "title": "Benchmark: one brush-mask label",
    "readers_per_task": 20,
    "labels": [{"name": "lesion", "kind": "mask", "definition": "Every voxel of the lesion."}],
}


@dataclass
class Save:
    """One acknowledged save."""

    annotator: str
    annotation_id: int
    revision: int
    payload: dict[str, Any]
    seconds: float


@dataclass
class Annotator:
    """One signed-in annotator and what it saved."""

    name: str
    headers: dict[str, str]
    saves: list[Save] = field(default_factory=list)
    heads: dict[int, int] = field(default_factory=dict)
    conflicts: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)


SHAPES = 600
FIRST_SLICES = SLICES - 2


def _shapes(seed: int = 0) -> list[list[dict[str, Any]]]:
    """Brush strokes made before the clock starts: discs on one to three consecutive slices."""
    rng = random.Random(seed)
    yy, xx = np.mgrid[:ROWS, :COLUMNS]
    shapes = []
    for _ in range(SHAPES):
        cx, cy = rng.uniform(40, COLUMNS - 40), rng.uniform(40, ROWS - 40)
        radius = rng.uniform(6, 30)
        shapes.append(
            [
                dict(rle_encode((xx - cx) ** 2 + (yy - cy) ** 2 <= max(radius - 3 * k, 3) ** 2))
                for k in range(rng.randint(1, 3))
            ]
        )
    return shapes


def _mask_payload(
    shapes: list[list[dict[str, Any]]], index: int, annotator: str, n: int, confidence: int
) -> dict[str, Any]:
    """Save ``n`` of an annotator: geometry ``index`` (distinct for every save below
    ``SHAPES × FIRST_SLICES``, so the node's duplicate check never refuses one)."""
    shape = shapes[index % SHAPES]
    first = (index // SHAPES) % FIRST_SLICES
    return {
        "label": "lesion",
        "kind": "mask",
        "confidence": confidence,
        "comment": f"{annotator} save {n}",
        "geometry": {
            "slices": {str(first + k): rle for k, rle in enumerate(shape)},
            "key_slices": [],
            "interpolate": False,
        },
    }


def _setup(url: str, token: str, annotators: int) -> tuple[int, list[Annotator]]:
    admin = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, timeout=120) as client:
        series = generate_series(
            PhantomSpec(
                modality="CT",
                rows=ROWS,
                columns=COLUMNS,
                slices=SLICES,
                seed=0,
                style=SITE_STYLES["reference"],
            )
        )
        body, content_type = multipart_body([dataset_to_bytes(ds) for ds in series.datasets()])
        stored = client.post(
            "/dicom-web/studies", content=body, headers={**admin, "Content-Type": content_type}
        )
        _ok(stored, "STOW-RS of the phantom")
        names = [f"annotator{i:02d}" for i in range(annotators)]
        for name in names:
            created = client.post(
                "/api/users",
                json={"username": name, "password": PASSWORD, "role": "annotator"},
                headers=admin,
            )
            _ok(created, f"creating user {name}")
        _ok(client.post("/api/guidelines", json=GUIDELINE, headers=admin), "loading the guideline")
        project = client.post(
            "/api/projects",
            json={
                "name": "bench",
                "guideline": {"name": GUIDELINE["name"], "version": GUIDELINE["version"]},
                "query": {"modality": "CT"},
                "readers_per_task": annotators,
                "readers": names,
            },
            headers=admin,
        )
        _ok(project, "creating the project")
        people = []
        for name in names:
            login = client.post("/api/auth/login", json={"username": name, "password": PASSWORD})
            _ok(login, f"signing in {name}")
            session = login.cookies.get("harmonia_session")
            headers = {
                "Cookie": f"harmonia_session={session}",
                "X-CSRF-Token": login.json()["csrf_token"],
            }
            people.append(Annotator(name, headers))
        worklist = client.get("/api/worklist", headers=people[0].headers)
        _ok(worklist, "reading the worklist")
        return int(worklist.json()["tasks"][0]["id"]), people


def _ok(response: httpx.Response, what: str) -> None:
    if response.status_code >= 300:
        raise SystemExit(f"{what} answered {response.status_code}: {response.text[:500]}")


def _work(
    url: str,
    task_id: int,
    me: Annotator,
    seat: tuple[int, int],
    shapes: list[list[dict[str, Any]]],
    stop_at: float,
) -> None:
    number, annotators = seat
    rng = random.Random(number)
    n = 0
    with httpx.Client(base_url=url, headers=me.headers, timeout=120) as client:
        while time.perf_counter() < stop_at:
            n += 1
            index = number + annotators * (n - 1)
            payload = _mask_payload(shapes, index, me.name, n, rng.randint(1, 5))
            revise = bool(me.heads) and rng.random() < 0.5
            start = time.perf_counter()
            try:
                if revise:
                    aid = rng.choice(sorted(me.heads))
                    response = client.put(
                        f"/api/annotations/{aid}",
                        json={**payload, "base_revision": me.heads[aid]},
                    )
                else:
                    response = client.post(f"/api/tasks/{task_id}/annotations", json=payload)
            except httpx.HTTPError as exc:  # an unanswered save is neither acked nor lost
                me.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            seconds = time.perf_counter() - start
            if response.status_code in (200, 201):
                answer = response.json()
                aid, revision = int(answer["annotation_id"]), int(answer["revision"])
                me.heads[aid] = revision
                me.saves.append(Save(me.name, aid, revision, payload, seconds))
            elif response.status_code == 409:
                me.conflicts += 1
            elif response.status_code == 422:
                me.rejected += 1
            else:
                me.errors.append(f"{response.status_code}: {response.text[:200]}")


def _same(sent: dict[str, Any], stored: dict[str, Any]) -> bool:
    return all(stored.get(key) == value for key, value in sent.items() if key != "geometry") and (
        stored.get("geometry", {}).get("slices") == sent["geometry"]["slices"]
    )


def _check(
    acked: dict[tuple[int, int], Save], found: dict[int, list[tuple[int, dict[str, Any]]]]
) -> tuple[int, int]:
    """(lost, duplicated) of the acknowledged saves against the stored revisions."""
    lost = sum(
        1
        for (aid, revision), save in acked.items()
        if not any(r == revision and _same(save.payload, p) for r, p in found.get(aid, []))
    )
    expected: dict[int, int] = {}
    for aid, _ in acked:
        expected[aid] = expected.get(aid, 0) + 1
    duplicated = 0
    for aid, revisions in found.items():
        numbers = [r for r, _ in revisions]
        duplicated += len(numbers) - len(set(numbers))
        duplicated += max(len(set(numbers)) - expected.get(aid, 0), 0)
    return lost, duplicated


def _via_api(url: str, people: list[Annotator]) -> dict[int, list[tuple[int, dict[str, Any]]]]:
    found: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    with httpx.Client(base_url=url, timeout=120) as client:
        for me in people:
            for aid in sorted(me.heads):
                answer = client.get(f"/api/annotations/{aid}/revisions", headers=me.headers)
                _ok(answer, f"reading revisions of annotation {aid}")
                found[aid] = [(r["revision"], r["payload"]) for r in answer.json()["revisions"]]
    return found


def _via_sqlite(path: Path) -> dict[int, list[tuple[int, dict[str, Any]]]]:
    found: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        for aid, revision, payload in connection.execute(
            "SELECT annotation_id, revision, payload FROM annotation_revisions ORDER BY id"
        ):
            found.setdefault(int(aid), []).append((int(revision), json.loads(payload)))
    return found


def _baseline(path: Path, people: list[Annotator]) -> tuple[list[float], float]:
    """The same writes as single-row INSERTs into a bare WAL + synchronous=FULL file."""
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute(
        "CREATE TABLE revisions (id INTEGER PRIMARY KEY, annotation_id INTEGER, "
        "revision INTEGER, payload TEXT, UNIQUE (annotation_id, revision))"
    )
    setup.close()
    latencies: list[float] = []
    lock = threading.Lock()

    def replay(me: Annotator) -> None:
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA busy_timeout=30000")
        mine = []
        for save in me.saves:
            text = json.dumps(save.payload, sort_keys=True, separators=(",", ":"))
            start = time.perf_counter()
            connection.execute(
                "INSERT INTO revisions (annotation_id, revision, payload) VALUES (?, ?, ?)",
                (save.annotation_id, save.revision, text),
            )
            mine.append(time.perf_counter() - start)
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=replay, args=(me,)) for me in people]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 annotators for 4 s (CI)")
    parser.add_argument("--annotators", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    args = parser.parse_args()
    annotators = args.annotators or (3 if args.quick else 20)
    seconds = args.seconds or (4.0 if args.quick else 60.0)

    with tempfile.TemporaryDirectory(prefix="harmonia-saves-") as tmp:
        root = Path(tmp)
        with running_node(root / "node") as node:
            task_id, people = _setup(node.url, node.token, annotators)
            shapes = _shapes()
            stop_at = time.perf_counter() + seconds
            threads = [
                threading.Thread(
                    target=_work,
                    args=(node.url, task_id, me, (i, annotators), shapes, stop_at),
                )
                for i, me in enumerate(people)
            ]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
            acked = {(s.annotation_id, s.revision): s for me in people for s in me.saves}
            lost_api, duplicated_api = _check(acked, _via_api(node.url, people))
        lost_db, duplicated_db = _check(acked, _via_sqlite(root / "node" / "node.sqlite3"))
        base_latencies, base_elapsed = _baseline(root / "bare.sqlite3", people)

    saves = [s for me in people for s in me.saves]
    latencies = [s.seconds for s in saves]
    creates = sum(1 for s in saves if s.revision == 1)
    errors = [e for me in people for e in me.errors]
    node_p50, node_p99 = percentile(latencies, 50) * 1e3, percentile(latencies, 99) * 1e3
    base_p50, base_p99 = percentile(base_latencies, 50) * 1e3, percentile(base_latencies, 99) * 1e3
    throughput = len(saves) / elapsed
    base_throughput = len(base_latencies) / base_elapsed if base_elapsed else float("nan")
    print_table(
        f"{annotators} annotators saving masks for {seconds:.0f} s "
        f"({ROWS}x{COLUMNS}, up to 3 slices per save)",
        ["target", "saves", "p50 ms", "p99 ms", "saves/s"],
        [
            [
                "node (HTTP, audited, fsync)",
                len(saves),
                f"{node_p50:.1f}",
                f"{node_p99:.1f}",
                f"{throughput:.1f}",
            ],
            [
                "bare SQLite INSERT (WAL, FULL)",
                len(base_latencies),
                f"{base_p50:.2f}",
                f"{base_p99:.2f}",
                f"{base_throughput:.1f}",
            ],
        ],
    )
    print(
        f"\nnew annotations {creates}, revisions {len(saves) - creates}, 409 conflicts "
        f"{sum(me.conflicts for me in people)}, 422 rejected {sum(me.rejected for me in people)}, "
        f"errors {len(errors)}; lost {lost_api} (API) / {lost_db} (SQLite), duplicated "
        f"{duplicated_api} (API) / {duplicated_db} (SQLite)"
    )
    for error in errors[:5]:
        print("  error:", error)
    emit(
        {
            "benchmark": "annotation_saves",
            "quick": args.quick,
            "annotators": annotators,
            "seconds": seconds,
            "saves": len(saves),
            "new_annotations": creates,
            "revisions": len(saves) - creates,
            "conflicts": sum(me.conflicts for me in people),
            "rejected": sum(me.rejected for me in people),
            "errors": len(errors),
            "p50_ms": round(node_p50, 2),
            "p99_ms": round(node_p99, 2),
            "throughput_per_s": round(throughput, 2),
            "lost": lost_api + lost_db,
            "duplicated": duplicated_api + duplicated_db,
            "baseline_sqlite": {
                "p50_ms": round(base_p50, 3),
                "p99_ms": round(base_p99, 3),
                "throughput_per_s": round(base_throughput, 1),
            },
            "ratios": {
                "p50_vs_sqlite_insert": round(node_p50 / base_p50, 1) if base_p50 else None,
                "throughput_vs_sqlite_insert": round(throughput / base_throughput, 4)
                if base_throughput
                else None,
            },
        }
    )
    if lost_api or lost_db or duplicated_api or duplicated_db:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
