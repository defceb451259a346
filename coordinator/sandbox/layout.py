"""Where the sandbox's processes listen and keep their data.

With ``base_port`` P the coordinator takes P (admin, dashboard), P+1 (site
API, mTLS), P+2 (Fleet proxy), P+3 (SuperLink, loopback only); site *i*
takes P+10+2i (HTTP: DICOMweb, UI) and P+11+2i (C-STORE SCP). Without it,
free ports are picked. Each process has its own data directory under the
sandbox's, and its log in ``logs/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from coordinator.sandbox.processes import free_port

__all__ = ["CoordinatorPorts", "Layout", "NodePorts"]


@dataclass(frozen=True)
class CoordinatorPorts:
    """The coordinator's listeners."""

    admin: int
    site: int
    fleet: int
    superlink: int


@dataclass(frozen=True)
class NodePorts:
    """A node's listeners."""

    http: int
    dicom: int


@dataclass
class Layout:
    """Data directories, log files and ports of one sandbox."""

    root: Path
    sites: tuple[str, ...]
    base_port: int | None = None
    coordinator_ports: CoordinatorPorts = field(init=False)
    node_ports: dict[str, NodePorts] = field(init=False)

    def __post_init__(self) -> None:
        base = self.base_port
        if base is None:
            self.coordinator_ports = CoordinatorPorts(*(free_port() for _ in range(4)))
            self.node_ports = {s: NodePorts(free_port(), free_port()) for s in self.sites}
        else:
            if not 1024 <= base <= 65535 - 12 - 2 * len(self.sites):
                raise ValueError(f"--base-port {base} leaves no room for the sandbox's ports")
            self.coordinator_ports = CoordinatorPorts(base, base + 1, base + 2, base + 3)
            self.node_ports = {
                s: NodePorts(base + 10 + 2 * i, base + 11 + 2 * i) for i, s in enumerate(self.sites)
            }

    @property
    def coordinator_dir(self) -> Path:
        """The coordinator's data directory."""
        return self.root / "coordinator"

    def node_dir(self, site: str) -> Path:
        """A site's node data directory."""
        return self.root / "nodes" / site

    def log(self, name: str) -> Path:
        """The log file of a process or step."""
        return self.root / "logs" / f"{name}.log"

    @property
    def coordinator_url(self) -> str:
        """The coordinator's admin URL (dashboard at ``/ui/``)."""
        return f"http://127.0.0.1:{self.coordinator_ports.admin}"

    def node_url(self, site: str) -> str:
        """A node's HTTP URL (UI at ``/ui/``)."""
        return f"http://127.0.0.1:{self.node_ports[site].http}"
