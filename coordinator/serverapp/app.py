"""The statistics-round ServerApp: secure totals with SecAgg+, per-site releases where allowed.

One round:

1. wait (``wait-nodes-s``) until ``expected-nodes`` SuperNodes are connected;
2. **query** every node (Message API: :meth:`Grid.push_messages`, then a
   0.1 s :meth:`Grid.pull_messages` loop until ``reply-timeout-s``). A node
   answers with the secure sum's public layout for its project (when the
   round is secure) and, when ``per-site`` is on and *its* policy allows
   per-site releases, with its own noised, charged statistics; otherwise it
   says per-site figures are not released. A node that does not answer is
   missing; one that refuses (budget, noise-free not allowed) says why;
3. **secure sum** (``secure-aggregation``, default on): the nodes that are
   ready and share the most common layout (guideline version) add their
   noised statistics under SecAgg+
   (:func:`~coordinator.serverapp.secure_aggregation.secure_sum`, exact
   integer limbs). It needs ``secagg-min-nodes`` (3) nodes; with fewer, the
   round does not run it and says so, and its totals fall back to the
   per-site releases of the sites that allow them (none: no totals). A node
   that drops out mid-protocol is left out of the sum (its masks are
   removed from the others' shares) and reported with the stage;
4. decode and post-process the totals (:mod:`coordinator.rounds`), compute
   the pooled figures per label and each per-site release's figures, and
   write the result as JSON to ``result-path``.

Replies are matched to sites by the node ids the coordinator registered
(``registry-path``) and by the site each reply names.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flwr.app import ConfigRecord, Context, Message, RecordDict
from flwr.serverapp import Grid, ServerApp

from coordinator.rounds import (
    SiteStatistics,
    label_figures,
    pool_agreement,
    pool_histograms,
    pooled_json,
    secure_totals,
)
from coordinator.serverapp.records import (
    layout_id,
    receipt_releases,
    reply_layout,
    reply_statistics,
    reply_status,
)
from coordinator.serverapp.secure_aggregation import SecAggParameters, secure_sum
from shared.privacy import StatisticsLayout

__all__ = ["app", "run_round"]

app = ServerApp()


def _registry(path: str) -> dict[int, str]:
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return {int(entry["node_id"]): str(site) for site, entry in data.items()}


def _wait_for_nodes(grid: Grid, expected: int, wait_s: float, poll_s: float) -> list[int]:
    deadline = time.monotonic() + wait_s
    nodes = sorted(grid.get_node_ids())
    while len(nodes) < expected and time.monotonic() < deadline:
        time.sleep(poll_s)
        nodes = sorted(grid.get_node_ids())
    return nodes


def _query(
    grid: Grid, nodes: list[int], request: dict[str, Any], timeout_s: float, poll_s: float
) -> dict[int, Message]:
    messages = [
        Message(RecordDict({"request": ConfigRecord(request)}), dst_node_id=n, message_type="query")
        for n in nodes
    ]
    pending = dict(zip(grid.push_messages(messages), nodes, strict=True))
    deadline = time.monotonic() + timeout_s
    replies: dict[int, Message] = {}
    while pending and time.monotonic() < deadline:
        for reply in grid.pull_messages(list(pending)):
            node = pending.pop(reply.metadata.reply_to_message_id, None)
            if node is not None:
                replies[node] = reply
        if pending:
            time.sleep(poll_s)
    return replies


def secagg_parameters(config: dict[str, Any]) -> SecAggParameters:
    """The round's SecAgg+ parameters (exact-integer quantization, shares and threshold)."""
    timeout = float(config.get("secagg-timeout-s", 60.0))
    return SecAggParameters.exact_integers(
        num_shares=config.get("secagg-num-shares", 1.0),
        reconstruction_threshold=config.get("secagg-threshold", 0.67),
        timeout_s=timeout if timeout > 0 else None,
        min_nodes=int(config.get("secagg-min-nodes", 3)),
    )


def _entry(status: dict[str, Any]) -> dict[str, Any]:
    return {
        "kinds": list(status.get("kinds", [])),
        "bytes": [int(b) for b in status.get("bytes", [])],
        "sha256": list(status.get("sha256", [])),
        "epsilon": [float(e) for e in status.get("epsilon", [])],
        "delta": [float(d) for d in status.get("delta", [])],
        "mechanism": list(status.get("mechanism", [])),
        "skipped": list(status.get("skipped", [])),
    }


def _secure_round(
    grid: Grid,
    context: Context,
    config: dict[str, Any],
    request: dict[str, Any],
    ready: dict[int, tuple[bytes, StatisticsLayout]],
    site_of: dict[int, str],
) -> tuple[dict[str, Any], SiteStatistics | None, dict[int, dict[str, Any]]]:
    """Run the secure sum over the ready nodes; its report, totals and per-node receipts."""
    params = secagg_parameters(config)
    report: dict[str, Any] = {"requested": True, "parameters": params.to_json()}
    groups = Counter(layout_id(data) for data, _ in ready.values())
    chosen = groups.most_common(1)[0][0] if groups else None
    members = {n: lay for n, (data, lay) in ready.items() if layout_id(data) == chosen}
    report["excluded"] = {
        site_of[n]: "its project reads under another guideline version"
        for n in ready
        if n not in members
    }
    report["participants"] = sorted(site_of[n] for n in members)
    if len(members) < params.min_nodes:
        report.update(
            status="skipped",
            reason=f"{len(members)} node(s) ready for the secure sum; it needs "
            f"{params.min_nodes} so that no site's statistics can be told from the sum",
        )
        return report, None, {}
    layout = next(iter(members.values()))
    guideline, version = layout.guideline
    configs = {
        n: {**request, "harmonia-task": "statistics", "guideline": guideline, "version": version}
        for n in members
    }
    configs = {
        n: {k: v for k, v in c.items() if k not in ("secure", "per-site")}
        for n, c in configs.items()
    }
    result = secure_sum(
        grid,
        configs,
        round_id=str(request["round-id"]),
        context=context,
        parameters=params,
        poll_interval_s=float(config.get("poll-interval-s", 0.1)),
    )
    report.update(
        threshold=result.threshold,
        survivors=sorted(site_of[n] for n in result.survivors),
        dropped={site_of[n]: stage for n, stage in sorted(result.dropped.items())},
        wall_time_s=result.wall_time_s,
    )
    if result.errors:
        report["errors"] = result.errors
    if not result.completed:
        report.update(status="halted", reason="too few nodes stayed for the threshold")
        return report, None, {}
    report["status"] = "completed"
    agreement, histograms = layout.decode(result.arrays[0])
    totals = secure_totals(layout.guideline, agreement, histograms)
    return report, totals, result.metrics


def run_round(grid: Grid, config: dict[str, Any], context: Context | None = None) -> dict[str, Any]:
    """Run one statistics round on ``grid``; the result document."""
    started = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    context = context or Context(
        run_id=grid.run.run_id, node_id=0, node_config={}, state=RecordDict(), run_config={}
    )
    poll_s = float(config.get("poll-interval-s", 0.1))
    registry = _registry(str(config.get("registry-path", "")))
    nodes = _wait_for_nodes(
        grid, int(config.get("expected-nodes", 0)), float(config.get("wait-nodes-s", 30)), poll_s
    )
    secure = bool(config.get("secure-aggregation", True))
    per_site = bool(config.get("per-site", True))
    request: dict[str, Any] = {
        "project": str(config["project"]),
        "round-id": str(config["round-id"]),
        "noise": bool(config.get("noise", True)),
        "noise-multiplier": float(config.get("noise-multiplier", 4.0)),
        "delta": float(config.get("delta", 1e-6)),
        "seed": int(config.get("seed", -1)),
        "per-site": per_site,
        "secure": secure,
    }
    replies = _query(grid, nodes, request, float(config.get("reply-timeout-s", 60)), poll_s)
    query_s = time.monotonic() - started
    sites: dict[str, dict[str, Any]] = {}
    site_of: dict[int, str] = {}
    released: dict[str, SiteStatistics] = {}
    ready: dict[int, tuple[bytes, StatisticsLayout]] = {}
    for node in nodes:
        site = registry.get(node, f"node-{node}")
        got = replies.get(node)
        if got is None or got.has_error():
            reason = "no reply before the round's deadline" if got is None else got.error.reason
            site_of[node] = site
            sites[site] = {"status": "missing", "message": reason}
            continue
        status = reply_status(got.content)
        site = str(status.get("site") or site)
        site_of[node] = site
        entry = {**_entry(status), "per_site": status.get("per_site", "not-requested")}
        entry["secure"] = "not-requested" if not secure else str(status.get("secure", "refused"))
        if not status.get("ok"):
            entry.update(
                status="refused",
                error=status.get("error", ""),
                message=status.get("message", ""),
            )
        else:
            entry["status"] = "answered"
        statistics = reply_statistics(site, got.content)
        if statistics is not None and entry["per_site"] == "released":
            released[site] = statistics
        layout = reply_layout(got.content)
        if secure and entry["secure"] == "ready" and layout is not None:
            ready[node] = layout
        sites[site] = entry
    for node, site in registry.items():
        if node not in nodes and site not in sites:
            sites[site] = {"status": "missing", "message": "not connected when the round began"}
    report: dict[str, Any] = {"requested": False, "status": "not-requested"}
    totals: SiteStatistics | None = None
    if secure:
        report, totals, receipts = _secure_round(grid, context, config, request, ready, site_of)
        for node, metrics in receipts.items():
            entry = sites[site_of[node]]
            for release in receipt_releases(metrics):
                entry["kinds"].append(release["kind"])
                entry["bytes"].append(int(release.get("bytes", 0)))
                entry["sha256"].append(str(release.get("sha256", "")))
                if "epsilon" in release:
                    entry["epsilon"].append(float(release["epsilon"]))
                    entry["delta"].append(float(release["delta"]))
                    entry["mechanism"].append(str(release["mechanism"]))
        for node in ready:
            site = site_of[node]
            dropped = report.get("dropped", {}).get(site)
            if site in report.get("survivors", []):
                sites[site]["secure"] = "summed"
            elif dropped is not None:
                sites[site].update(secure=f"dropped ({dropped})", status="missing")
            else:
                sites[site]["secure"] = "not-included"
    for entry in sites.values():
        if "bytes" in entry:
            entry["bytes_total"] = int(sum(entry["bytes"]))
    if totals is not None:
        mode = "secure"
        answered = sorted(report["survivors"])
        contributors = [totals]
    else:
        mode = "per-site"
        answered = sorted(released)
        contributors = [released[s] for s in answered]
    for name, entry in sites.items():
        if entry["status"] == "answered" and name not in answered:
            entry["status"] = "not-in-totals"
    pooled = pool_agreement(contributors)
    guideline = next((s.guideline for s in contributors if s.guideline), ("", ""))
    return {
        "round_id": str(config["round-id"]),
        "guideline": guideline[0],
        "version": guideline[1],
        "project": str(config["project"]),
        "noise": request["noise"],
        "noise_multiplier": request["noise-multiplier"],
        "started_at": started_at,
        "wall_time_s": round(time.monotonic() - started, 3),
        "query_s": round(query_s, 3),
        "mode": mode,
        "secure_aggregation": report,
        "per_site": {
            "requested": per_site,
            "released": sorted(released),
            "not_allowed": sorted(
                s for s, e in sites.items() if e.get("per_site") == "not-allowed"
            ),
        },
        "sites": dict(sorted(sites.items())),
        "answered": answered,
        "missing": sorted(name for name in sites if name not in answered),
        "figures": label_figures(pooled),
        "pooled": pooled_json(pooled),
        "histograms": pool_histograms(contributors),
        "per_site_figures": {
            site: label_figures(pool_agreement([stats])) for site, stats in sorted(released.items())
        },
        "per_site_pooled": {
            site: pooled_json(pool_agreement([stats])) for site, stats in sorted(released.items())
        },
    }


@app.main()
def main(grid: Grid, context: Context) -> None:
    """Run the round and write its result where the coordinator asked."""
    config = dict(context.run_config)
    result = run_round(grid, config, context)
    path = Path(str(config["result-path"]))
    staging = path.with_suffix(".tmp")
    staging.write_text(json.dumps(result, indent=2, sort_keys=True), encoding="utf-8")
    staging.replace(path)
