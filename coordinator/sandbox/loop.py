"""The sandbox's walk through the whole loop, one step at a time, with progress lines.

:class:`Sandbox` starts a coordinator (``serve --flower``) and one node per
site (``serve --dicom-port``) as separate processes, enrolled for real (TLS,
one-time tokens), then runs :data:`STEPS` in order through the same command
lines and HTTP APIs an operator, a PACS and the readers use. Each step prints
one line with the elapsed time; child output goes to ``DATA_DIR/logs``.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from coordinator.sandbox.dicom_send import cstore_series, series_numbers, stow_series
from coordinator.sandbox.errors import SandboxError, StepFailedError
from coordinator.sandbox.layout import Layout
from coordinator.sandbox.processes import Service, run_command
from coordinator.sandbox.readers import annotate_worklists, rereview
from coordinator.sandbox.scenario import (
    DRAFTS_PROJECT,
    GUIDELINE_NAME,
    LABEL,
    PROJECT,
    READERS,
    REVIEWER,
    REVISED_VERSION,
    SiteScenario,
    guideline_document,
    reader_profiles,
    site_scenarios,
    training_plan,
)
from shared.phantoms import PhantomSeries, generate_series
from shared.schemas import Guideline
from shared.simulation import CaseTruth

__all__ = ["STEPS", "Figures", "Sandbox", "SandboxOptions"]

STEPS = (
    "start coordinator and nodes",
    "ingest phantoms (STOW-RS, C-STORE)",
    "users and annotation project",
    "simulated readers annotate",
    "statistics round 1",
    "harmonization report",
    "publish revised guideline",
    "re-annotation (re-review queue)",
    "statistics round 2",
    "DP training rounds",
    "AI drafts on every node",
)
COORDINATOR, NODE = "coordinator.cli", "node.cli"


@dataclass(frozen=True)
class SandboxOptions:
    """What to run: how many sites, where, and how lean."""

    sites: int = 3
    data_dir: Path = Path("sandbox-data")
    base_port: int | None = None
    cases: int = 4
    rounds: int = 1
    stats_noise: bool = False


@dataclass
class Figures:
    """The headline figures the sandbox reports."""

    agreement_before: float | None = None
    agreement_after: float | None = None
    flagged_labels: list[str] = field(default_factory=list)
    model: str | None = None
    model_dice: float | None = None
    drafts: dict[str, int] = field(default_factory=dict)

    @property
    def agreement_rose(self) -> bool:
        """Whether the flagged label's agreement went up after the revision."""
        before, after = self.agreement_before, self.agreement_after
        return before is not None and after is not None and after > before


class Sandbox:
    """A coordinator and nodes on 127.0.0.1, and the loop walked through them."""

    def __init__(self, options: SandboxOptions, out: TextIO) -> None:
        self.options = options
        self.out = out
        self.scenarios = site_scenarios(options.sites, options.cases)
        self.layout = Layout(
            options.data_dir.resolve(), tuple(s.name for s in self.scenarios), options.base_port
        )
        self.admin_token = "hca_sandbox_" + secrets.token_urlsafe(24)
        self.node_tokens = {s: "hn_sandbox_" + secrets.token_urlsafe(24) for s in self.layout.sites}
        self.passwords = {s: secrets.token_urlsafe(12) for s in self.layout.sites}
        self.services: list[Service] = []
        self.truths: dict[str, dict[str, CaseTruth]] = {}
        self.figures = Figures()
        self.started = time.monotonic()
        self.step_log = self.layout.log("steps")

    # -- running ---------------------------------------------------------------------------

    def run(self) -> Figures:
        """Run every step in order; raise :class:`StepFailedError` naming the failing one."""
        actions: list[Callable[[], str]] = [
            self.start,
            self.ingest,
            self.create_project,
            self.annotate,
            lambda: self.stats_round(before=True),
            self.report,
            self.publish_revision,
            self.reannotate,
            lambda: self.stats_round(before=False),
            self.train,
            self.drafts,
        ]
        for number, (name, action) in enumerate(zip(STEPS, actions, strict=True), start=1):
            self._say(f"step {number}/{len(STEPS)}: {name} ...")
            try:
                detail = action()
            except StepFailedError:
                raise
            except (SandboxError, OSError, ValueError, KeyError) as error:
                log = getattr(error, "log", None) or self.step_log
                raise StepFailedError(f"{name}: {error}", step=name, log=log) from error
            self._say(f"step {number}/{len(STEPS)}: {name}: ok{': ' + detail if detail else ''}")
        return self.figures

    def stop(self) -> None:
        """Stop every started process by PID, nodes first."""
        for service in reversed(self.services):
            service.stop()

    def _say(self, line: str) -> None:
        print(f"[{time.monotonic() - self.started:7.1f} s] {line}", file=self.out, flush=True)

    def _cli(self, module: str, *args: str, log: str = "commands") -> str:
        return run_command(module, args, log=self.layout.log(log))

    # -- steps -----------------------------------------------------------------------------

    def start(self) -> str:
        """Start the coordinator, publish guideline 1.0, enroll and start every node."""
        layout, ports = self.layout, self.layout.coordinator_ports
        coordinator = Service(
            "coordinator",
            COORDINATOR,
            [
                *("serve", "--data-dir", str(layout.coordinator_dir)),
                *("--port", str(ports.admin), "--site-port", str(ports.site)),
                *("--flower", "--fleet-port", str(ports.fleet)),
                *("--superlink-port", str(ports.superlink)),
            ],
            layout.coordinator_url,
            layout.log("coordinator"),
            {"HARMONIA_COORDINATOR_BOOTSTRAP_TOKEN": self.admin_token},
        )
        self.services.append(coordinator)
        coordinator.start()
        coordinator_dir = str(layout.coordinator_dir)
        document = guideline_document()
        path = layout.root / f"{GUIDELINE_NAME}-{document['version']}.json"
        path.write_text(json.dumps(document, indent=2))
        self._cli(COORDINATOR, "guideline", "publish", str(path), "--data-dir", coordinator_dir)
        nodes = [self._start_node(scenario) for scenario in self.scenarios]
        for node in nodes:  # the nodes start side by side
            node.wait_healthy(deadline_s=300)
        return f"coordinator pid {coordinator.pid}, {len(self.scenarios)} node(s) enrolled"

    def _start_node(self, scenario: SiteScenario) -> Service:
        site, layout = scenario.name, self.layout
        added = self._cli(
            COORDINATOR, "site", "add", site, "--data-dir", str(layout.coordinator_dir)
        )
        match = re.search(r"(hce\.\S+)", added)
        if match is None:
            raise SandboxError(f"no enrollment token in 'site add {site}' output")
        data_dir = layout.node_dir(site)
        data_dir.mkdir(parents=True, exist_ok=True)
        self._cli(
            NODE,
            *("enroll", "--data-dir", str(data_dir), "--coordinator", layout.coordinator_url),
            *("--token", match.group(1)),
            log=site,
        )
        self._cli(NODE, "guideline", "sync", "--data-dir", str(data_dir), log=site)
        write_policies(data_dir)
        ports = layout.node_ports[site]
        node = Service(
            site,
            NODE,
            [
                *("serve", "--data-dir", str(data_dir)),
                *("--port", str(ports.http), "--dicom-port", str(ports.dicom)),
            ],
            layout.node_url(site),
            layout.log(site),
            {
                "HARMONIA_NODE_BOOTSTRAP_TOKEN": self.node_tokens[site],
                "HARMONIA_NODE_SESSION_COOKIE_SECURE": "false",
            },
        )
        self.services.append(node)
        node.start(wait=False)
        return node

    def ingest(self) -> str:
        """Send each site's phantoms: even cases by STOW-RS, odd ones by C-STORE."""
        stowed = stored = 0
        for scenario in self.scenarios:
            site = scenario.name
            url, token = self.layout.node_url(site), self.node_tokens[site]
            phantoms: dict[int, PhantomSeries] = {}
            for case in range(scenario.cases):
                series = generate_series(scenario.case_spec(case))
                phantoms[case + 1] = series
                datasets = list(series.datasets())
                if case % 2 == 0:
                    stowed += stow_series(url, token, datasets)
                else:
                    port = self.layout.node_ports[site].dicom
                    folder = self.layout.root / "pacs" / site / f"case-{case + 1}"
                    stored += cstore_series("127.0.0.1", port, datasets, folder)
            numbers = series_numbers(url, token)
            truths = {}
            for uid, number in numbers.items():
                case = number - 1
                truths[uid] = CaseTruth.from_phantom(
                    phantoms[number], case_id=uid, categories={"grade": scenario.grade(case)}
                )
            if len(truths) != scenario.cases:
                raise SandboxError(f"{site} holds {len(truths)} series, expected {scenario.cases}")
            self.truths[site] = truths
        return f"{stowed} instances by STOW-RS, {stored} by C-STORE"

    def create_project(self) -> str:
        """Create each node's users (API) and the annotation project (CLI)."""
        import httpx

        for scenario in self.scenarios:
            site = scenario.name
            users = [("admin", "admin"), (REVIEWER, "reviewer")]
            users += [(reader, "annotator") for reader in READERS]
            for username, role in users:
                created = httpx.post(
                    f"{self.layout.node_url(site)}/api/users",
                    json={"username": username, "password": self.passwords[site], "role": role},
                    headers={"Authorization": f"Bearer {self.node_tokens[site]}"},
                    timeout=60,
                )
                if created.status_code != 201:
                    raise SandboxError(f"creating {username} on {site}: {created.text}")
            self._cli(
                NODE,
                *("project", "create", "--data-dir", str(self.layout.node_dir(site))),
                *("--name", PROJECT, "--guideline", f"{GUIDELINE_NAME}@1.0"),
                *("--modality", "CT", "--readers", ",".join(READERS)),
                *("--reviewers", REVIEWER, "--readers-per-task", str(len(READERS))),
                log=site,
            )
        return f"{len(READERS)} readers, a reviewer and an admin per site; project {PROJECT}"

    def annotate(self) -> str:
        """Every reader annotates and completes their worklist."""
        guideline = Guideline.model_validate(guideline_document())
        parts = 0
        for scenario in self.scenarios:
            site = scenario.name
            parts += annotate_worklists(
                self.layout.node_url(site),
                self.passwords[site],
                PROJECT,
                reader_profiles(scenario.index),
                self.truths[site],
                guideline,
            )
        return f"{parts} reader parts completed"

    def stats_round(self, *, before: bool) -> str:
        """Run a statistics round; keep the label's pooled Dice."""
        args = [
            *("round", "stats", "--data-dir", str(self.layout.coordinator_dir)),
            *("--project", PROJECT, "--expected-nodes", str(len(self.scenarios))),
            *("--wait-nodes", "180", "--reply-timeout", "300", "--no-secure-aggregation"),
        ]
        if not self.options.stats_noise:
            args.append("--no-noise")
        result = json.loads(self._cli(COORDINATOR, *args, log="rounds"))
        dice = result["figures"].get(LABEL, {}).get("pooled_dice")
        if dice is None:
            raise SandboxError(f"round {result.get('round_id')} has no pooled Dice for {LABEL}")
        if before:
            self.figures.agreement_before = float(dice)
        else:
            self.figures.agreement_after = float(dice)
        return f"{LABEL} pooled Dice {dice:.3f} from {', '.join(result['answered'])}"

    def report(self) -> str:
        """Read the harmonization report; the ambiguous label must be flagged."""
        report = json.loads(
            self._cli(
                COORDINATOR,
                *("harmonization", "report", GUIDELINE_NAME),
                *("--data-dir", str(self.layout.coordinator_dir), "--format", "json"),
                log="rounds",
            )
        )
        self.figures.flagged_labels = list(report.get("flagged_labels", []))
        if LABEL not in self.figures.flagged_labels:
            raise StepFailedError(
                f"the report flags {self.figures.flagged_labels}, not {LABEL}",
                step=STEPS[5],
                log=self.layout.log("rounds"),
            )
        return f"flagged: {', '.join(self.figures.flagged_labels)}"

    def publish_revision(self) -> str:
        """Publish 1.1; each node syncs it and upgrades the project."""
        document = guideline_document(REVISED_VERSION)
        path = self.layout.root / f"{GUIDELINE_NAME}-{REVISED_VERSION}.json"
        path.write_text(json.dumps(document, indent=2))
        self._cli(
            COORDINATOR,
            *("guideline", "publish", str(path), "--data-dir", str(self.layout.coordinator_dir)),
        )
        sent = []
        for site in self.layout.sites:
            data_dir = str(self.layout.node_dir(site))
            self._cli(NODE, "guideline", "sync", "--data-dir", data_dir, log=site)
            upgraded = self._cli(
                NODE,
                *("project", "upgrade", "--data-dir", data_dir, "--project", PROJECT),
                *("--guideline", f"{GUIDELINE_NAME}@{REVISED_VERSION}"),
                log=site,
            )
            found = re.search(r"(\d+) reader part\(s\) sent to re-review", upgraded)
            sent.append(f"{site} {found.group(1) if found else '?'}")
        return f"{GUIDELINE_NAME}@{REVISED_VERSION}; parts sent to re-review: {', '.join(sent)}"

    def reannotate(self) -> str:
        """The reviewer sends the re-review queue back; readers redraw."""
        guideline = Guideline.model_validate(guideline_document(REVISED_VERSION))
        revised = 0
        for scenario in self.scenarios:
            site = scenario.name
            revised += rereview(
                self.layout.node_url(site),
                self.passwords[site],
                REVIEWER,
                PROJECT,
                reader_profiles(scenario.index),
                self.truths[site],
                guideline,
            )
        return f"{revised} reader parts redrawn under the clarified rule"

    def train(self) -> str:
        """Federated DP training with the tiny plan; keep the final Dice."""
        plan = self.layout.root / "training-plan.json"
        plan.write_text(json.dumps(training_plan(), indent=2))
        output = self._cli(
            COORDINATOR,
            *("round", "train", "--data-dir", str(self.layout.coordinator_dir)),
            *("--plan", str(plan), "--project", PROJECT, "--rounds", str(self.options.rounds)),
            *("--min-sites", "1", "--expected-nodes", str(len(self.scenarios))),
            *("--wait-nodes", "180", "--reply-timeout", "900"),
            log="training",
        )
        result = json.loads(output.strip().splitlines()[-1])
        if result.get("status") != "completed":
            raise SandboxError(f"training run ended {result.get('status')!r}")
        self.figures.model_dice = model_dice(result.get("final_evaluation") or {})
        dice = self.figures.model_dice
        shown = "n/a" if dice is None else f"{dice:.3f}"
        return f"{result['rounds_completed']} round(s); model Dice {shown}"

    def drafts(self) -> str:
        """Pull the model on each node; a new project with drafts on; run the assistant."""
        plan = self.layout.root / "training-plan.json"
        for site in self.layout.sites:
            data_dir = str(self.layout.node_dir(site))
            pulled = json.loads(self._cli(NODE, "model", "pull", "--data-dir", data_dir, log=site))
            model = f"{pulled['name']}@{pulled['version']}"
            self.figures.model = model
            # the loop's project is all read; a new reading project over the same series
            # (one reader per task) is where the drafts are waiting
            self._cli(
                NODE,
                *("project", "create", "--data-dir", data_dir, "--name", DRAFTS_PROJECT),
                *("--guideline", f"{GUIDELINE_NAME}@{REVISED_VERSION}", "--modality", "CT"),
                *("--readers", ",".join(READERS), "--reviewers", REVIEWER),
                *("--readers-per-task", "1"),
                log=site,
            )
            self._cli(
                NODE,
                *("assist", "settings", "--data-dir", data_dir, "--project", DRAFTS_PROJECT),
                *("--preannotation", "on", "--active-learning", "on"),
                log=site,
            )
            run = json.loads(
                self._cli(
                    NODE,
                    *("assist", "run", "--data-dir", data_dir, "--project", DRAFTS_PROJECT),
                    *("--model", model, "--plan", str(plan), "--json"),
                    log=site,
                )
            )
            self.figures.drafts[site] = int(run["proposals"])
        return f"{self.figures.model} in project {DRAFTS_PROJECT}: " + ", ".join(
            f"{site} {count} draft(s)" for site, count in self.figures.drafts.items()
        )


def write_policies(data_dir: Path) -> None:
    """The site's statistics and training policies (what hospital IT writes by hand)."""
    from node.stats.release import POLICY_FILE

    (data_dir / POLICY_FILE).write_text(
        json.dumps(
            {
                "epsilon": 20.0,
                "delta": 1e-4,
                "allow_noise_free": True,
                "allow_per_site_release": True,
            }
        )
    )
    (data_dir / "training-policy.json").write_text(
        json.dumps({"epsilon": 200.0, "delta": 1e-2, "release_site_metrics": True})
    )


def model_dice(evaluation: dict[str, Any]) -> float | None:
    """The final evaluation's Dice: pooled when there, else the mean of the sites'."""
    pooled = evaluation.get("pooled") or {}
    if isinstance(pooled.get("dice"), int | float):
        return float(pooled["dice"])
    values = [
        float(site["dice"])
        for site in (evaluation.get("sites") or {}).values()
        if isinstance(site.get("dice"), int | float)
    ]
    return sum(values) / len(values) if values else None
