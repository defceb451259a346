"""The coordinator's site API under N enrolled nodes polling it, against a trivial endpoint.

Starts a real ``harmonia-coordinator serve`` on 127.0.0.1, publishes a
guideline and a calibration set, and enrolls N sites through the real
enrollment (each site's key and CSR made in this process, its certificate
issued by the consortium CA). Then N concurrent clients, each an
``httpx.AsyncClient`` presenting its own site certificate over mutual TLS,
poll what a node polls — ``GET /api/v1/site/guidelines`` (guideline sync),
``GET /api/v1/site/calibration`` (calibration sets) and ``POST
/api/v1/site/health`` (health report) — once per ``--interval`` seconds each,
starts spread over the interval, for ``--duration`` seconds.

Baseline, in the same run, with the same clients and connections: the same
request pattern against ``GET /healthz`` on the same site listener (TLS
handshake and HTTP alike; no certificate check in the app, no database, no
JSON body). Reported per phase: requests, errors, throughput, latency
percentiles, and the coordinator process's CPU seconds (psutil) and peak RSS.
The ratios compare coordinator CPU per request and latency with the baseline.
The clients run in ``--client-processes`` processes (an event loop each);
client and server share this machine, so latencies include waiting for CPU:
the clients' CPU seconds are reported too, and the coordinator's CPU per
request is the figure that does not depend on the load.

Run: ``python benchmarks/coordinator_polling.py [--sites 100] [--quick]``
(``--quick``, the CI size: 3 sites, 3 s per phase — every site polls at least
once per phase).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from _harness import emit, peak_rss_mib, percentile, print_table

from tests.support.coordinator_process import CoordinatorProcess, running_coordinator
from tests.support.stats_sites import EXAMPLE
from tests.support.virtual_sites import SiteCredentials, enroll_site, site_ssl_context

CALIBRATION: dict[str, Any] = {
    "set_id": "bench-cal-1",
    "title": "Benchmark calibration set",
    "guideline": {"name": "lung-nodule", "version": "1.0"},
    "cases": [
        {"case_id": f"c{i}", "rows": 64, "columns": 64, "slices": 8, "seed": i} for i in range(4)
    ],
}

Request = tuple[str, str, dict[str, Any] | None]  # method, path, JSON body
SITE_POLL: list[Request] = [
    ("GET", "/api/v1/site/guidelines", None),
    ("GET", "/api/v1/site/calibration", None),
    ("POST", "/api/v1/site/health", {"software_version": "0.1.0", "uptime_s": 60}),
]
BASELINE_POLL: list[Request] = [("GET", "/healthz", None)] * len(SITE_POLL)


@dataclass
class Phase:
    """What one polling phase measured."""

    name: str
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    answered: set[str] = field(default_factory=set)
    reconnects: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    started_at: float = 0.0  # time.time() of the phase's first and last moments
    ended_at: float = 0.0

    def merge(self, other: Phase) -> None:
        """Add another client process's share of the same phase."""
        for path, values in other.latencies.items():
            self.latencies.setdefault(path, []).extend(values)
        self.errors.extend(other.errors)
        self.answered |= other.answered
        self.reconnects += other.reconnects
        self.client_cpu_s += other.client_cpu_s
        self.started_at = min(self.started_at or other.started_at, other.started_at)
        self.ended_at = max(self.ended_at, other.ended_at)
        self.wall_s = self.ended_at - self.started_at

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values()) + len(self.errors)

    def all_latencies(self) -> list[float]:
        return [x for values in self.latencies.values() for x in values]

    def figures(self) -> dict[str, Any]:
        every = self.all_latencies()
        ok = len(every)
        return {
            "requests": self.requests,
            "errors": len(self.errors),
            "reconnects": self.reconnects,
            "throughput_rps": round(ok / self.wall_s, 1) if self.wall_s else None,
            "latency_ms": {f"p{q}": round(percentile(every, q) * 1000, 2) for q in (50, 95, 99)},
            "coordinator_cpu_s": round(self.cpu_s, 2),
            "coordinator_cpu_ms_per_request": round(1000 * self.cpu_s / ok, 3) if ok else None,
            "client_cpu_s": round(self.client_cpu_s, 2),
            "sites_answered": len(self.answered),
        }


async def _poll_site(
    client: httpx.AsyncClient,
    site: str,
    requests: list[Request],
    phase: Phase,
    interval: float,
    deadline: float,
    rng: random.Random,
) -> None:
    await asyncio.sleep(rng.uniform(0, interval))  # nodes do not poll in lockstep
    while time.perf_counter() < deadline:
        cycle = time.perf_counter()
        for method, path, body in requests:
            started = time.perf_counter()
            try:
                try:
                    answer = await client.request(method, path, json=body)
                except httpx.RemoteProtocolError:
                    # The server closed the idle keep-alive connection as this request went
                    # out (uvicorn closes them after 5 s): a node's next call reconnects.
                    phase.reconnects += 1
                    answer = await client.request(method, path, json=body)
            except httpx.HTTPError as exc:
                phase.errors.append(f"{site} {method} {path}: {type(exc).__name__} {exc}")
                continue
            if answer.status_code >= 400:
                phase.errors.append(f"{site} {method} {path}: {answer.status_code} {answer.text}")
                continue
            phase.latencies.setdefault(path, []).append(time.perf_counter() - started)
            phase.answered.add(site)
        await asyncio.sleep(max(0.0, interval - (time.perf_counter() - cycle)))


async def _phase(
    name: str,
    clients: dict[str, httpx.AsyncClient],
    requests: list[Request],
    *,
    interval: float,
    start_at: float,
    duration: float,
    seed: int,
) -> Phase:
    """One phase, from wall-clock ``start_at`` for ``duration`` seconds."""
    phase = Phase(name)
    await asyncio.sleep(max(0.0, start_at - time.time()))
    rng = random.Random(seed)
    cpu_before = time.process_time()
    phase.started_at = time.time()
    deadline = time.perf_counter() + duration
    await asyncio.gather(
        *(
            _poll_site(client, site, requests, phase, interval, deadline, rng)
            for site, client in clients.items()
        )
    )
    phase.ended_at = time.time()
    phase.wall_s = phase.ended_at - phase.started_at
    phase.client_cpu_s = time.process_time() - cpu_before
    return phase


async def _client_process(
    credentials: list[SiteCredentials], schedule: dict[str, float], seed: int
) -> tuple[Phase, Phase]:
    contexts: dict[str, ssl.SSLContext] = {c.site: site_ssl_context(c) for c in credentials}
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = {
        c.site: httpx.AsyncClient(
            base_url=c.site_api_url, verify=contexts[c.site], timeout=120, limits=limits
        )
        for c in credentials
    }
    interval, duration = schedule["interval"], schedule["duration"]
    try:
        # Warm up: every client opens its mTLS connection once, outside both phases.
        await asyncio.gather(*(client.get("/healthz") for client in clients.values()))
        baseline = await _phase(
            "baseline /healthz", clients, BASELINE_POLL, interval=interval,
            start_at=schedule["baseline_at"], duration=duration, seed=seed,
        )  # fmt: skip
        site = await _phase(
            "site API polls", clients, SITE_POLL, interval=interval,
            start_at=schedule["site_at"], duration=duration, seed=seed + 1,
        )  # fmt: skip
    finally:
        await asyncio.gather(*(client.aclose() for client in clients.values()))
    return site, baseline


def _run_client_process(
    credentials: list[SiteCredentials], schedule: dict[str, float], seed: int
) -> tuple[Phase, Phase]:
    return asyncio.run(_client_process(credentials, schedule, seed))


class _CpuSampler:
    """The coordinator's CPU seconds over time, to read any phase's share afterwards."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            times = self.process.cpu_times()
            self.samples.append((time.time(), times.user + times.system))
            self._stop.wait(0.1)

    def __enter__(self) -> _CpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def between(self, start: float, end: float) -> float:
        def at(moment: float) -> float:
            return min(self.samples, key=lambda sample: abs(sample[0] - moment))[1]

        return at(end) - at(start)


def _run_phases(
    credentials: list[SiteCredentials],
    *,
    interval: float,
    duration: float,
    pid: int,
    processes: int,
) -> tuple[Phase, Phase]:
    shares = [credentials[i::processes] for i in range(processes)]
    shares = [share for share in shares if share]
    warm_up = 5.0 + 0.25 * max(len(share) for share in shares)  # TLS handshakes, all clients
    baseline_at = time.time() + warm_up
    schedule = {
        "interval": interval,
        "duration": duration,
        "baseline_at": baseline_at,
        "site_at": baseline_at + duration + max(3.0, interval),
    }
    site, baseline = Phase("site API polls"), Phase("baseline /healthz")
    with _CpuSampler(pid) as sampler, ProcessPoolExecutor(len(shares)) as pool:
        futures = [
            pool.submit(_run_client_process, share, schedule, 10 * index)
            for index, share in enumerate(shares)
        ]
        for future in futures:
            site_part, baseline_part = future.result()
            site.merge(site_part)
            baseline.merge(baseline_part)
    site.cpu_s = sampler.between(site.started_at, site.ended_at)
    baseline.cpu_s = sampler.between(baseline.started_at, baseline.ended_at)
    return site, baseline


def _setup(coordinator: CoordinatorProcess, sites: int, folder: Path) -> list[SiteCredentials]:
    admin = httpx.Client(
        base_url=coordinator.url,
        timeout=120,
        headers={"Authorization": f"Bearer {coordinator.token}"},
    )
    with admin:
        published = admin.post(
            "/api/v1/guidelines",
            content=EXAMPLE.read_bytes(),
            headers={"Content-Type": "application/yaml"},
        )
        published.raise_for_status()
        admin.post("/api/v1/calibration", json=CALIBRATION).raise_for_status()
        return [enroll_site(admin, f"site-{i:03d}", folder) for i in range(sites)]


def _dashboard_sites(coordinator: CoordinatorProcess) -> list[dict[str, Any]]:
    answer = httpx.get(
        f"{coordinator.url}/api/v1/dashboard/sites",
        headers={"Authorization": f"Bearer {coordinator.token}"},
        timeout=60,
    )
    answer.raise_for_status()
    sites: list[dict[str, Any]] = answer.json()["sites"]
    return sites


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=100, help="enrolled polling sites")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between polls")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase")
    parser.add_argument(
        "--client-processes",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="processes the polling clients are spread over",
    )
    parser.add_argument("--quick", action="store_true", help="3 sites, 3 s per phase (CI)")
    args = parser.parse_args()
    sites = 3 if args.quick else args.sites
    duration = 3.0 if args.quick else args.duration
    with tempfile.TemporaryDirectory(prefix="harmonia-polling-bench-") as tmp:
        root = Path(tmp)
        with running_coordinator(root / "coordinator") as coordinator:
            started = time.perf_counter()
            credentials = _setup(coordinator, sites, root / "pki")
            enroll_s = time.perf_counter() - started
            rss_before = psutil.Process(coordinator.pid).memory_info().rss / 2**20
            site, baseline = _run_phases(
                credentials,
                interval=args.interval,
                duration=duration,
                pid=coordinator.pid,
                processes=args.client_processes,
            )
            peak = peak_rss_mib(coordinator.pid)
            listed = _dashboard_sites(coordinator)
    seen = sum(1 for s in listed if s["last_seen_at"] and s["software_version"])
    figures: dict[str, Callable[[Phase], Any]] = {
        "requests": lambda p: p.figures()["requests"],
        "errors": lambda p: p.figures()["errors"],
        "reconnects (idle connection closed)": lambda p: p.figures()["reconnects"],
        "throughput (req/s)": lambda p: p.figures()["throughput_rps"],
        "p50 / p95 / p99 (ms)": lambda p: " / ".join(
            str(v) for v in p.figures()["latency_ms"].values()
        ),
        "coordinator CPU (s)": lambda p: p.figures()["coordinator_cpu_s"],
        "coordinator CPU per request (ms)": lambda p: p.figures()["coordinator_cpu_ms_per_request"],
        "sites answered": lambda p: p.figures()["sites_answered"],
    }
    print_table(
        f"{sites} sites polling every {args.interval:g} s for {duration:g} s per phase "
        f"(mTLS, keep-alive, {args.client_processes} client processes; enrollment of all "
        f"sites took {enroll_s:.1f} s)",
        ["", site.name, baseline.name],
        [[name, get(site), get(baseline)] for name, get in figures.items()],
    )
    per_endpoint = [
        [path, len(v), f"{percentile(v, 50) * 1000:.1f}", f"{percentile(v, 95) * 1000:.1f}"]
        for path, v in sorted(site.latencies.items())
    ]
    print_table("Site API per endpoint", ["endpoint", "requests", "p50 ms", "p95 ms"], per_endpoint)
    print(f"\ncoordinator RSS: {rss_before:.0f} MiB after enrollment, peak {peak:.0f} MiB")
    print(f"dashboard: {seen}/{len(listed)} sites show last seen and software version")
    for error in (site.errors + baseline.errors)[:5]:
        print(f"error: {error}")
    site_fig, base_fig = site.figures(), baseline.figures()
    emit(
        {
            "benchmark": "coordinator_polling",
            "quick": args.quick,
            "sites": sites,
            "interval_s": args.interval,
            "duration_s": duration,
            "client_processes": args.client_processes,
            "offered_rps": round(sites * len(SITE_POLL) / args.interval, 1),
            "enroll_s": round(enroll_s, 2),
            "site_api": site_fig,
            "baseline_healthz": base_fig,
            "errors": site_fig["errors"] + base_fig["errors"],
            "all_sites_answered": site_fig["sites_answered"] == sites
            and base_fig["sites_answered"] == sites,
            "sites_seen_in_dashboard": seen,
            "coordinator_rss_mib": {
                "after_enrollment": round(rss_before, 1),
                "peak": round(peak, 1),
            },
            "ratios": {
                "cpu_per_request_site_vs_healthz": _ratio(
                    site_fig["coordinator_cpu_ms_per_request"],
                    base_fig["coordinator_cpu_ms_per_request"],
                ),
                "p50_site_vs_healthz": _ratio(
                    site_fig["latency_ms"]["p50"], base_fig["latency_ms"]["p50"]
                ),
                "p95_site_vs_healthz": _ratio(
                    site_fig["latency_ms"]["p95"], base_fig["latency_ms"]["p95"]
                ),
            },
        }
    )


if __name__ == "__main__":
    main()
