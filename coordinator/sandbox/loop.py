"""The sandbox's walk through the whole loop, one step at a time, with progress lines.

:class:`Sandbox` starts a coordinator (``serve --flower``) and one node per
site (``serve --dicom-port``) as separate processes, enrolled for real (TLS,
one-time tokens; :mod:`coordinator.sandbox.startup`), then runs :data:`STEPS`
in order through the same HTTP APIs and command lines an operator, a PACS and
the readers use: the running services' APIs where they serve the action
(:mod:`coordinator.sandbox.admin_api`), the commands where only a command
does it (enrollment, rounds, model pull, the assistant). The sites' work in a
step runs side by side (:func:`~coordinator.sandbox.side_by_side.for_each_site`).
Each step prints one line with the elapsed time; child output goes to
``DATA_DIR/logs``.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from coordinator.sandbox.admin_api import CoordinatorAdmin, NodeAdmin
from coordinator.sandbox.dicom_send import cstore_series, series_numbers, stow_series
from coordinator.sandbox.errors import CommandFailedError, SandboxError, StepFailedError
from coordinator.sandbox.figures import Figures, model_dice
from coordinator.sandbox.layout import Layout
from coordinator.sandbox.processes import Service, child_environment, run_command
from coordinator.sandbox.readers import annotate_worklists, rereview
from coordinator.sandbox.scenario import (
    DRAFTS_PROJECT,
    FIRST_VERSION,
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
from coordinator.sandbox.side_by_side import for_each_site
from coordinator.sandbox.startup import COORDINATOR, NODE, start_coordinator, start_node
from shared.errors import HarmoniaError
from shared.phantoms import PhantomSeries, generate_series
from shared.schemas import Guideline
from shared.simulation import CaseTruth

__all__ = ["STEPS", "Sandbox", "SandboxOptions"]


def _shown(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _last_json(output: str) -> Any:
    """The JSON a command printed on its last line of output."""
    return json.loads(output.strip().splitlines()[-1])


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
    "seed model pre-trained on public phantoms",
    "DP training rounds",
    "AI drafts on every node",
)


@dataclass(frozen=True)
class SandboxOptions:
    """What to run: how many sites, where, and how lean."""

    sites: int = 3
    data_dir: Path = Path("sandbox-data")
    base_port: int | None = None
    cases: int = 4
    rounds: int = 1
    stats_noise: bool = False


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
        self.coordinator = CoordinatorAdmin(self.layout.coordinator_url, self.admin_token)
        self.nodes = {
            s: NodeAdmin(s, self.layout.node_url(s), self.node_tokens[s]) for s in self.layout.sites
        }
        self.services: list[Service] = []
        self.truths: dict[str, dict[str, CaseTruth]] = {}
        self.figures = Figures()
        self.started = time.monotonic()
        self.step_log = self.layout.log("steps")
        self.seed_training: subprocess.Popen[str] | None = None

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
            self.import_seed,
            self.train,
            self.drafts,
        ]
        for number, (name, action) in enumerate(zip(STEPS, actions, strict=True), start=1):
            self._say(f"step {number}/{len(STEPS)}: {name} ...")
            begun = time.monotonic()
            try:
                detail = action()
            except StepFailedError:
                raise
            except (HarmoniaError, SandboxError, OSError, ValueError, KeyError) as error:
                log = getattr(error, "log", None) or self.step_log
                raise StepFailedError(f"{name}: {error}", step=name, log=log) from error
            took = f"{time.monotonic() - begun:.1f} s"
            self._say(
                f"step {number}/{len(STEPS)}: {name}: ok{': ' + detail if detail else ''} ({took})"
            )
        return self.figures

    def stop(self) -> None:
        """Stop every started process by PID, nodes first."""
        if self.seed_training is not None and self.seed_training.poll() is None:
            self.seed_training.kill()
            self.seed_training.wait()
        for service in reversed(self.services):
            service.stop()

    def _say(self, line: str) -> None:
        print(f"[{time.monotonic() - self.started:7.1f} s] {line}", file=self.out, flush=True)

    def _cli(self, module: str, *args: str, log: str = "commands") -> str:
        return run_command(module, args, log=self.layout.log(log))

    # -- steps -----------------------------------------------------------------------------

    def start(self) -> str:
        """Start the coordinator, publish guideline 1.0, enroll and start every node."""
        coordinator = start_coordinator(self.layout, self.admin_token, self.services)
        self.coordinator.publish_guideline(guideline_document())

        def bring_up(site: str) -> Service:
            enrollment = self.coordinator.add_site(site)
            return start_node(self.layout, site, enrollment, self.node_tokens[site], self.services)

        for node in for_each_site(self.layout.sites, bring_up):  # side by side
            node.wait_healthy(deadline_s=300)
        self._start_seed_training()
        return f"coordinator pid {coordinator.pid}, {len(self.scenarios)} node(s) enrolled"

    def _start_seed_training(self) -> None:
        """Pre-train the seed model in a child process while the readers work."""
        plan = self._plan_path
        plan.write_text(json.dumps(training_plan(), indent=2))
        log = self.layout.log("seed-model")
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as errors:  # the child keeps its own copy
            self.seed_training = subprocess.Popen(
                [sys.executable, "-m", "coordinator.sandbox.seed", str(plan), str(self._seed_path)],
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                env=child_environment(),
            )

    @property
    def _seed_path(self) -> Path:
        return self.layout.root / "seed-model.weights"

    @property
    def _plan_path(self) -> Path:
        """The training plan (written at start: the seed's pre-training reads it first)."""
        return self.layout.root / "training-plan.json"

    def ingest(self) -> str:
        """Send each site's phantoms: even cases by STOW-RS, odd ones by C-STORE.

        One site after the other: a few seconds in all, and a PACS sends to one node.
        """
        counts = [self._ingest_site(scenario) for scenario in self.scenarios]
        stowed, stored = sum(c[0] for c in counts), sum(c[1] for c in counts)
        return f"{stowed} instances by STOW-RS, {stored} by C-STORE"

    def _ingest_site(self, scenario: SiteScenario) -> tuple[int, int]:
        site = scenario.name
        url, token = self.layout.node_url(site), self.node_tokens[site]
        phantoms: dict[int, PhantomSeries] = {}
        stowed = stored = 0
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
        truths = {}
        for uid, number in series_numbers(url, token).items():
            case = number - 1
            truths[uid] = CaseTruth.from_phantom(
                phantoms[number], case_id=uid, categories={"grade": scenario.grade(case)}
            )
        if len(truths) != scenario.cases:
            raise SandboxError(f"{site} holds {len(truths)} series, expected {scenario.cases}")
        self.truths[site] = truths
        return stowed, stored

    def create_project(self) -> str:
        """Create each node's users and, once its sync loaded guideline 1.0, the project."""
        users = [("admin", "admin"), (REVIEWER, "reviewer")]
        users += [(reader, "annotator") for reader in READERS]

        def on_site(site: str) -> None:
            node = self.nodes[site]
            node.create_users(users, self.passwords[site])
            node.wait_guideline(GUIDELINE_NAME, FIRST_VERSION)
            node.create_project(
                PROJECT,
                (GUIDELINE_NAME, FIRST_VERSION),
                modality="CT",
                readers=READERS,
                reviewers=[REVIEWER],
                readers_per_task=len(READERS),
            )

        for_each_site(self.layout.sites, on_site)
        return f"{len(READERS)} readers, a reviewer and an admin per site; project {PROJECT}"

    def annotate(self) -> str:
        """Every reader annotates and completes their worklist."""
        guideline = Guideline.model_validate(guideline_document())
        parts = for_each_site(
            self.scenarios,
            lambda scenario: annotate_worklists(
                self.layout.node_url(scenario.name),
                self.passwords[scenario.name],
                PROJECT,
                reader_profiles(scenario.index),
                self.truths[scenario.name],
                guideline,
            ),
        )
        return f"{sum(parts)} reader parts completed"

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
        report = self.coordinator.harmonization_report(GUIDELINE_NAME)
        self.figures.flagged_labels = list(report.get("flagged_labels", []))
        if LABEL not in self.figures.flagged_labels:
            raise StepFailedError(
                f"the report flags {self.figures.flagged_labels}, not {LABEL}",
                step=STEPS[5],
                log=self.layout.log("coordinator"),
            )
        return f"flagged: {', '.join(self.figures.flagged_labels)}"

    def publish_revision(self) -> str:
        """Publish 1.1; each node's sync loads it, then the project is upgraded to it."""
        self.coordinator.publish_guideline(guideline_document(REVISED_VERSION))

        def on_site(site: str) -> str:
            node = self.nodes[site]
            node.wait_guideline(GUIDELINE_NAME, REVISED_VERSION)
            upgraded = node.upgrade_project(PROJECT, (GUIDELINE_NAME, REVISED_VERSION))
            return f"{site} {len(upgraded.get('rereview', []))}"

        sent = for_each_site(self.layout.sites, on_site)
        return f"{GUIDELINE_NAME}@{REVISED_VERSION}; parts sent to re-review: {', '.join(sent)}"

    def reannotate(self) -> str:
        """The reviewer sends the re-review queue back; readers redraw."""
        guideline = Guideline.model_validate(guideline_document(REVISED_VERSION))
        revised = for_each_site(
            self.scenarios,
            lambda scenario: rereview(
                self.layout.node_url(scenario.name),
                self.passwords[scenario.name],
                REVIEWER,
                PROJECT,
                reader_profiles(scenario.index),
                self.truths[scenario.name],
                guideline,
            ),
        )
        return f"{sum(revised)} reader parts redrawn under the clarified rule"

    def _learning_services_answer(self, *, deadline_s: float = 180) -> None:
        """Every node's learning service answers a ping (the doctor's check), or say why not."""
        from node.doctor import Status, last_error, learning_check
        from node.learn.client import service_socket

        def answering(site: str) -> None:
            data_dir = self.layout.node_dir(site)
            log = service_socket(data_dir).parent / "service.log"
            end = time.monotonic() + deadline_s
            while (result := learning_check(data_dir, timeout=30)).status is not Status.OK:
                failed = result.status is Status.SKIP or last_error(log) is not None
                if failed or time.monotonic() > end:
                    raise SandboxError(f"{site}: {result.summary}")
                time.sleep(0.5)

        for_each_site(self.layout.sites, answering)

    def import_seed(self) -> str:
        """Wait for the seed model's pre-training; register it with ``model import``."""
        training = self.seed_training
        if training is None:
            raise SandboxError("the seed model's pre-training was never started")
        log = self.layout.log("seed-model")
        try:
            out, _ = training.communicate(timeout=1200)
        except subprocess.TimeoutExpired:
            training.kill()
            training.wait()
            raise CommandFailedError(
                "the seed model's pre-training took over 20 minutes", log=log, returncode=-9
            ) from None
        if training.returncode != 0:
            raise CommandFailedError(
                f"the seed model's pre-training exited with {training.returncode}",
                log=log,
                returncode=training.returncode,
            )
        facts = _last_json(out)
        source = (
            f"pre-trained on {facts['cases']} public synthetic phantoms ({facts['slices']} "
            f"slices, {facts['epochs']} epochs, no DP: public data)"
        )
        imported = json.loads(
            self._cli(
                COORDINATOR,
                *("model", "import", "--data-dir", str(self.layout.coordinator_dir)),
                *("--plan", str(self._plan_path)),
                *("--weights", str(self._seed_path), "--source", source),
                log="training",
            )
        )
        self.figures.seed_dice = float(facts["dice_on_public_held_out"])
        return (
            f"{imported['name']}@{imported['version']}, {source}; Dice on public held-out "
            f"phantoms {self.figures.seed_dice:.3f}"
        )

    def train(self) -> str:
        """Federated DP fine-tuning of the seed model with the tiny plan; keep the final Dice."""
        self._learning_services_answer()
        plan = self._plan_path
        output = self._cli(
            COORDINATOR,
            *("round", "train", "--data-dir", str(self.layout.coordinator_dir)),
            *("--plan", str(plan), "--project", PROJECT, "--rounds", str(self.options.rounds)),
            *("--from-model", GUIDELINE_NAME),
            *("--min-sites", "1", "--expected-nodes", str(len(self.scenarios))),
            *("--wait-nodes", "180", "--reply-timeout", "900"),
            log="training",
        )
        result = _last_json(output)
        if result.get("status") != "completed":
            raise SandboxError(f"training run ended {result.get('status')!r}")
        self.figures.model_dice = model_dice(result.get("final_evaluation") or {})
        scored = self._cli(
            "coordinator.sandbox.seed",
            *(str(plan), str(result["weights_path"]), "--score"),
            log="training",
        )
        self.figures.model_public_dice = float(_last_json(scored)["dice_on_public_held_out"])
        noised = self.figures.model_dice
        return (
            f"{result['rounds_completed']} round(s); model Dice "
            f"{self.figures.model_public_dice:.3f} on the public held-out phantoms (the seed's "
            f"{_shown(self.figures.seed_dice)}), {_shown(noised)} from the sites' DP-noised "
            "evaluation"
        )

    def drafts(self) -> str:
        """Pull the model on each node; a new project with drafts on; run the assistant."""
        results = for_each_site(self.layout.sites, self._drafts_on)
        self.figures.model = results[0][0]
        self.figures.drafts = {
            site: count for site, (_, count) in zip(self.layout.sites, results, strict=True)
        }
        return f"{self.figures.model} in project {DRAFTS_PROJECT}: " + ", ".join(
            f"{site} {count} draft(s)" for site, count in self.figures.drafts.items()
        )

    def _drafts_on(self, site: str) -> tuple[str, int]:
        plan = self._plan_path
        data_dir, node = str(self.layout.node_dir(site)), self.nodes[site]
        pulled = json.loads(self._cli(NODE, "model", "pull", "--data-dir", data_dir, log=site))
        model = f"{pulled['name']}@{pulled['version']}"
        # the loop's project is all read; a new reading project over the same series
        # (one reader per task) is where the drafts are waiting
        node.create_project(
            DRAFTS_PROJECT,
            (GUIDELINE_NAME, REVISED_VERSION),
            modality="CT",
            readers=READERS,
            reviewers=[REVIEWER],
            readers_per_task=1,
        )
        node.assist_settings(DRAFTS_PROJECT, preannotation=True, active_learning=True)
        run = json.loads(
            self._cli(
                NODE,
                *("assist", "run", "--data-dir", data_dir, "--project", DRAFTS_PROJECT),
                *("--model", model, "--plan", str(plan), "--json"),
                log=site,
            )
        )
        return model, int(run["proposals"])
