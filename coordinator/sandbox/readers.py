"""Simulated readers working through a node's HTTP API, as people would in its UI.

Each reader signs in (``/api/auth/login``, session cookie + CSRF token),
opens their worklist, saves the annotations their
:class:`~shared.simulation.ReaderProfile` would draw on the case's ground
truth, and completes the task. After a guideline revision a reviewer sends
the re-review queue back to the readers (a rejection naming the clarified
rule), and each reader replaces their annotations of the changed labels with
what they draw under the new version.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

from coordinator.sandbox.errors import SandboxError
from shared.schemas import Guideline
from shared.simulation import CaseTruth, ReaderProfile, simulate_annotations

__all__ = ["annotate_worklists", "rereview", "signed_in"]


def _check(response: httpx.Response, what: str) -> Any:
    if response.status_code >= 400:
        raise SandboxError(f"{what}: {response.status_code} {response.text[:500]}")
    return response.json() if response.content else None


@contextmanager
def signed_in(url: str, username: str, password: str) -> Iterator[httpx.Client]:
    """An HTTP client signed in to the node's UI API as ``username``."""
    with httpx.Client(base_url=url, timeout=120) as client:
        answer = _check(
            client.post("/api/auth/login", json={"username": username, "password": password}),
            f"sign-in of {username}",
        )
        client.headers["X-CSRF-Token"] = answer["csrf_token"]
        yield client


def _worklist(client: httpx.Client, project: str) -> list[dict[str, Any]]:
    body = _check(client.get("/api/worklist", params={"project": project}), "worklist")
    return list(body["tasks"])


def annotate_worklists(
    url: str,
    password: str,
    project: str,
    profiles: Mapping[str, ReaderProfile],
    truths: Mapping[str, CaseTruth],
    guideline: Guideline,
) -> int:
    """Each reader annotates and completes every open task of theirs; returns parts completed."""
    completed = 0
    for name, profile in profiles.items():
        with signed_in(url, name, password) as client:
            for task in _worklist(client, project):
                if task["my_status"] == "completed":
                    continue
                truth = truths[task["series_instance_uid"]]
                for payload in simulate_annotations(profile, truth, guideline):
                    _check(
                        client.post(f"/api/tasks/{task['id']}/annotations", json=payload),
                        f"{name}'s annotation of task {task['id']}",
                    )
                _check(client.post(f"/api/tasks/{task['id']}/complete"), "completing a task")
                completed += 1
    return completed


def rereview(
    url: str,
    password: str,
    reviewer: str,
    project: str,
    profiles: Mapping[str, ReaderProfile],
    truths: Mapping[str, CaseTruth],
    guideline: Guideline,
) -> int:
    """Send the re-review queue back to its readers, who redraw under ``guideline``.

    Returns how many reader parts were revised.
    """
    with signed_in(url, reviewer, password) as client:
        items = _check(client.get("/api/review/rereview"), "re-review queue")["items"]
        for item in items:
            _check(
                client.post(
                    f"/api/tasks/{item['task_id']}/review",
                    json={
                        "reader": item["reader"],
                        "decision": "reject",
                        "reason": f"redraw under {guideline.name}@{guideline.version}: "
                        + str(item.get("reason", "")),
                    },
                ),
                "sending a part back",
            )
    by_reader: dict[str, set[int]] = {}
    for item in items:
        if item["project"] == project:
            by_reader.setdefault(item["reader"], set()).add(int(item["task_id"]))
    revised = 0
    for name, task_ids in sorted(by_reader.items()):
        with signed_in(url, name, password) as client:
            for task_id in sorted(task_ids):
                _redraw(client, task_id, profiles[name], truths, guideline)
                revised += 1
    return revised


def _redraw(
    client: httpx.Client,
    task_id: int,
    profile: ReaderProfile,
    truths: Mapping[str, CaseTruth],
    guideline: Guideline,
) -> None:
    task = _check(client.get(f"/api/tasks/{task_id}"), f"task {task_id}")
    payloads = simulate_annotations(profile, truths[task["series_instance_uid"]], guideline)
    labels = {p["label"] for p in payloads if p["kind"] == "mask"}
    for annotation in task["annotations"]:
        if annotation["reader"] != profile.reader or annotation.get("deleted"):
            continue
        if annotation["label"] in labels:
            _check(
                client.delete(
                    f"/api/annotations/{annotation['annotation_id']}",
                    params={"base_revision": annotation["revision"]},
                ),
                "removing an annotation drawn under the old rule",
            )
    for payload in payloads:
        if payload["label"] in labels:
            _check(client.post(f"/api/tasks/{task_id}/annotations", json=payload), "redrawing")
    _check(client.post(f"/api/tasks/{task_id}/complete"), "completing a revised task")
