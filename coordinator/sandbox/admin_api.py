"""The sandbox's calls to the running services' admin APIs, as an operator's scripts make them.

Once the coordinator and the nodes serve, the sandbox talks to them over
HTTP instead of starting a command-line process for each action (each would
pay the interpreter's start and imports, and open the data directory beside
the running service): :class:`CoordinatorAdmin` publishes guideline releases,
adds sites and reads the harmonization report (``/api/v1/guidelines``,
``/api/v1/sites``, ``/api/v1/harmonization``) with the coordinator's admin
token; :class:`NodeAdmin` creates users and projects, waits for a release
the node's guideline sync loads, upgrades a project to a new guideline
version and sets a project's AI assistance, with the node's admin token.
A refusal raises :class:`SandboxError` naming the call, the status and the
service's message.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from coordinator.sandbox.errors import SandboxError

__all__ = ["CoordinatorAdmin", "NodeAdmin"]

_TIMEOUT_S = 120.0


def _call(response: httpx.Response, what: str) -> Any:
    if response.status_code >= 400:
        raise SandboxError(f"{what}: {response.status_code} {response.text[:500]}")
    return response.json() if response.content else None


def _bearer_client(url: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=_TIMEOUT_S
    )


@dataclass(frozen=True)
class CoordinatorAdmin:
    """The coordinator's admin API at ``url`` with an admin ``token``."""

    url: str
    token: str

    def _client(self) -> httpx.Client:
        return _bearer_client(self.url, self.token)

    def publish_guideline(self, document: dict[str, Any]) -> dict[str, Any]:
        """Publish a signed release of ``document`` (``guideline publish``)."""
        with self._client() as client:
            release: dict[str, Any] = _call(
                client.post("/api/v1/guidelines", json=document),
                f"publishing {document.get('name')}@{document.get('version')}",
            )
        return release

    def add_site(self, site: str) -> str:
        """Register ``site`` and return its one-time enrollment token (``site add``)."""
        with self._client() as client:
            issued = _call(client.post("/api/v1/sites", json={"name": site}), f"adding {site}")
        token = issued.get("token") if isinstance(issued, dict) else None
        if not isinstance(token, str) or not token:
            raise SandboxError(f"adding {site}: the coordinator returned no enrollment token")
        return token

    def harmonization_report(self, guideline: str) -> dict[str, Any]:
        """The harmonization report of ``guideline``'s newest version (``harmonization report``)."""
        with self._client() as client:
            report: dict[str, Any] = _call(
                client.get(f"/api/v1/harmonization/{guideline}"),
                f"the harmonization report of {guideline}",
            )
        return report


@dataclass(frozen=True)
class NodeAdmin:
    """One node's HTTP API at ``url`` with an admin ``token``."""

    site: str
    url: str
    token: str

    def _client(self) -> httpx.Client:
        return _bearer_client(self.url, self.token)

    def create_users(self, users: Sequence[tuple[str, str]], password: str) -> None:
        """Create each ``(username, role)`` with ``password``."""
        with self._client() as client:
            for username, role in users:
                _call(
                    client.post(
                        "/api/users",
                        json={"username": username, "password": password, "role": role},
                    ),
                    f"creating {username} on {self.site}",
                )

    def guideline_versions(self) -> set[str]:
        """``NAME@VERSION`` of every guideline version the node has loaded."""
        with self._client() as client:
            listed = _call(client.get("/api/guidelines"), f"guidelines of {self.site}")
        return {f"{g['name']}@{g['version']}" for g in listed["guidelines"]}

    def wait_guideline(self, name: str, version: str, *, deadline_s: float = 180) -> None:
        """Wait until the node's guideline sync has loaded ``name@version``."""
        wanted = f"{name}@{version}"
        end = time.monotonic() + deadline_s
        while wanted not in self.guideline_versions():
            if time.monotonic() > end:
                raise SandboxError(
                    f"{self.site} did not load {wanted} within {deadline_s:.0f} s: its guideline "
                    f"sync failed or refused the release (see logs/{self.site}.log)"
                )
            time.sleep(0.25)

    def create_project(
        self,
        name: str,
        guideline: tuple[str, str],
        *,
        modality: str,
        readers: Sequence[str],
        reviewers: Sequence[str],
        readers_per_task: int,
    ) -> dict[str, Any]:
        """Create an annotation project over the stored series of ``modality``."""
        with self._client() as client:
            project: dict[str, Any] = _call(
                client.post(
                    "/api/projects",
                    json={
                        "name": name,
                        "guideline": {"name": guideline[0], "version": guideline[1]},
                        "query": {"modality": modality},
                        "readers": list(readers),
                        "reviewers": list(reviewers),
                        "readers_per_task": readers_per_task,
                    },
                ),
                f"creating project {name} on {self.site}",
            )
        return project

    def upgrade_project(self, project: str, guideline: tuple[str, str]) -> dict[str, Any]:
        """Move ``project`` to ``guideline``; changed labels' parts go to re-review."""
        with self._client() as client:
            result: dict[str, Any] = _call(
                client.post(
                    f"/api/projects/{project}/upgrade",
                    json={"name": guideline[0], "version": guideline[1]},
                ),
                f"upgrading {project} on {self.site}",
            )
        return result

    def assist_settings(
        self, project: str, *, preannotation: bool, active_learning: bool
    ) -> dict[str, Any]:
        """Turn a project's AI drafts and active learning on or off."""
        with self._client() as client:
            settings: dict[str, Any] = _call(
                client.put(
                    f"/api/projects/{project}/assist",
                    json={"preannotation": preannotation, "active_learning": active_learning},
                ),
                f"AI-assistance settings of {project} on {self.site}",
            )
        return settings
