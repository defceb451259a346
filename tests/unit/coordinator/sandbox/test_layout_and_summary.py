"""Ports and directories of a sandbox; the summary printed at the end; the command line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from coordinator.cli import main
from coordinator.sandbox import Figures, Layout, Sandbox, SandboxOptions, summary_lines
from coordinator.sandbox.figures import model_dice


def test_base_port_lays_out_every_listener(tmp_path: Path) -> None:
    layout = Layout(tmp_path, ("site-a", "site-b"), 20000)
    ports = layout.coordinator_ports
    assert (ports.admin, ports.site, ports.fleet, ports.superlink) == (20000, 20001, 20002, 20003)
    assert layout.node_ports["site-b"].http == 20012 and layout.node_ports["site-b"].dicom == 20013
    assert layout.node_url("site-a") == "http://127.0.0.1:20010"
    assert layout.node_dir("site-a") == tmp_path / "nodes" / "site-a"
    assert layout.log("site-a") == tmp_path / "logs" / "site-a.log"
    with pytest.raises(ValueError, match="--base-port 80"):
        Layout(tmp_path, ("site-a",), 80)


def test_free_ports_are_distinct(tmp_path: Path) -> None:
    layout = Layout(tmp_path, ("site-a", "site-b", "site-c"))
    used = [*vars(layout.coordinator_ports).values()]
    used += [p for ports in layout.node_ports.values() for p in (ports.http, ports.dicom)]
    assert len(set(used)) == len(used) == 10


def test_agreement_rose_needs_both_figures() -> None:
    assert Figures(0.6, 0.9).agreement_rose
    assert not Figures(0.9, 0.6).agreement_rose
    assert not Figures(0.6, None).agreement_rose


def test_model_dice_prefers_the_pooled_figure() -> None:
    assert model_dice({"pooled": {"dice": 0.5}, "sites": {"a": {"dice": 0.1}}}) == 0.5
    assert model_dice({"pooled": {"count": 3}, "sites": {"a": {"dice": 0.2}, "b": {"dice": 0.4}}})
    assert model_dice({"pooled": {"count": 3}}) is None
    # DP noise on a tiny validation set can push the ratio past [0, 1]: the nearest Dice
    assert model_dice({"pooled": {"dice": 2.357}}) == 1.0
    assert model_dice({"sites": {"a": {"dice": -0.4}, "b": {"dice": 0.6}}}) == 0.3


def test_the_summary_names_every_ui_and_login(tmp_path: Path) -> None:
    sandbox = Sandbox(SandboxOptions(sites=2, data_dir=tmp_path, base_port=21000), io.StringIO())
    lines = "\n".join(summary_lines(sandbox, Figures(0.62, 0.91, ["lesion"], "m@1", 0.4)))
    assert "coordinator dashboard: http://127.0.0.1:21000/ui/" in lines
    assert sandbox.admin_token in lines
    for site in ("site-a", "site-b"):
        assert f"{site} UI: {sandbox.layout.node_url(site)}/ui/" in lines
        assert sandbox.passwords[site] in lines
    assert "before revision: 0.620" in lines and "after revision:  0.910" in lines
    assert "model m@1 Dice: 0.400" in lines


def test_the_command_refuses_a_used_data_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "old").write_text("x")
    assert main(["sandbox", "--data-dir", str(tmp_path), "--exit-after"]) == 2
    assert "is not empty" in capsys.readouterr().err
