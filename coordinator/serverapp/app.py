"""The statistics-round ServerApp (Flower's Message API): ask every node, pool, write the result.

One round:

1. wait (``wait-nodes-s``) until ``expected-nodes`` SuperNodes are connected;
2. push one ``query`` message to each (``request``: project, round id, noise,
   noise multiplier, delta, seed) with :meth:`Grid.push_messages`;
3. pull the replies every ``poll-interval-s`` (0.1 s) with
   :meth:`Grid.pull_messages` instead of ``send_and_receive``'s 3 s polls,
   until every node answered or ``reply-timeout-s`` passed: a node that does not
   answer (killed mid-round, offline) is reported missing and the round
   completes with the others;
4. sum the answering sites' statistics (:mod:`coordinator.rounds`), compute
   the pooled figures per label, and write the result as JSON to
   ``result-path`` (the coordinator's ``round stats`` stores it).

Replies are matched to sites by the node ids the coordinator registered
(``registry-path``) and by the site each reply names.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flwr.app import ConfigRecord, Context, Message, RecordDict
from flwr.serverapp import Grid, ServerApp

from coordinator.rounds import label_figures, pool_agreement, pool_histograms, pooled_json
from coordinator.serverapp.records import reply_statistics, reply_status

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


def run_round(grid: Grid, config: dict[str, Any]) -> dict[str, Any]:
    """Run one statistics round on ``grid``; the result document."""
    started = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    poll_s = float(config.get("poll-interval-s", 0.1))
    registry = _registry(str(config.get("registry-path", "")))
    nodes = _wait_for_nodes(
        grid, int(config.get("expected-nodes", 0)), float(config.get("wait-nodes-s", 30)), poll_s
    )
    request = ConfigRecord(
        {
            "project": str(config["project"]),
            "round-id": str(config["round-id"]),
            "noise": bool(config.get("noise", True)),
            "noise-multiplier": float(config.get("noise-multiplier", 4.0)),
            "delta": float(config.get("delta", 1e-6)),
            "seed": int(config.get("seed", -1)),
        }
    )
    messages = [
        Message(RecordDict({"request": request}), dst_node_id=node, message_type="query")
        for node in nodes
    ]
    pending = dict(zip(grid.push_messages(messages), nodes, strict=True))
    pushed_s = time.monotonic() - started
    deadline = time.monotonic() + float(config.get("reply-timeout-s", 60))
    replies: dict[int, Message] = {}
    while pending and time.monotonic() < deadline:
        for reply in grid.pull_messages(list(pending)):
            node = pending.pop(reply.metadata.reply_to_message_id, None)
            if node is not None:
                replies[node] = reply
        if pending:
            time.sleep(poll_s)
    sites: dict[str, dict[str, Any]] = {}
    answered = []
    for node in nodes:
        site = registry.get(node, f"node-{node}")
        got = replies.get(node)
        if got is None:
            sites[site] = {"status": "missing", "message": "no reply before the round's deadline"}
            continue
        if got.has_error():
            sites[site] = {"status": "missing", "message": got.error.reason}
            continue
        status = reply_status(got.content)
        site = str(status.get("site") or site)
        if not status.get("ok"):
            sites[site] = {
                "status": "refused",
                "error": status.get("error", ""),
                "message": status.get("message", ""),
            }
            continue
        sites[site] = {
            "status": "answered",
            "kinds": list(status.get("kinds", [])),
            "bytes": list(status.get("bytes", [])),
            "bytes_total": int(sum(status.get("bytes", []))),
            "sha256": list(status.get("sha256", [])),
            "epsilon": list(status.get("epsilon", [])),
            "delta": list(status.get("delta", [])),
            "mechanism": list(status.get("mechanism", [])),
            "skipped": list(status.get("skipped", [])),
        }
        answered.append(reply_statistics(site, got.content))
    for node, site in registry.items():
        if node not in nodes and site not in sites:
            sites[site] = {"status": "missing", "message": "not connected when the round began"}
    pooled = pool_agreement(answered)
    guideline = next((s.guideline for s in answered if s.guideline), ("", ""))
    return {
        "round_id": str(config["round-id"]),
        "guideline": guideline[0],
        "version": guideline[1],
        "project": str(config["project"]),
        "noise": bool(config.get("noise", True)),
        "noise_multiplier": float(config.get("noise-multiplier", 4.0)),
        "started_at": started_at,
        "wall_time_s": round(time.monotonic() - started, 3),
        "push_s": round(pushed_s, 3),
        "sites": dict(sorted(sites.items())),
        "answered": sorted(s.site for s in answered),
        "missing": sorted(name for name, s in sites.items() if s["status"] != "answered"),
        "figures": label_figures(pooled),
        "pooled": pooled_json(pooled),
        "histograms": pool_histograms(answered),
    }


@app.main()
def main(grid: Grid, context: Context) -> None:
    """Run the round and write its result where the coordinator asked."""
    config = dict(context.run_config)
    result = run_round(grid, config)
    path = Path(str(config["result-path"]))
    staging = path.with_suffix(".tmp")
    staging.write_text(json.dumps(result, indent=2, sort_keys=True), encoding="utf-8")
    staging.replace(path)
