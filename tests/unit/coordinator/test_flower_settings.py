from pathlib import Path

from coordinator.settings import CoordinatorSettings
from coordinator.superlink import FlowerPaths, SuperLink, write_connection
from shared.flower_process import FLOWER_HARDENING


def test_nodes_get_a_fleet_address_only_when_the_coordinator_runs_flower(tmp_path: Path) -> None:
    assert CoordinatorSettings(data_dir=tmp_path).resolved_fleet_address == ""
    on = CoordinatorSettings(data_dir=tmp_path, flower=True, fleet_port=19092)
    assert on.resolved_fleet_address == "127.0.0.1:19092"
    given = CoordinatorSettings(data_dir=tmp_path, flower=True, fleet_address="fleet.example:443")
    assert given.resolved_fleet_address == "fleet.example:443"


def test_the_superlink_command_binds_loopback_with_tls_and_node_auth(tmp_path: Path) -> None:
    files = {name: tmp_path / f"{name}.pem" for name in ("cert", "key", "ca")}
    superlink = SuperLink(
        FlowerPaths.of(tmp_path),
        port=19093,
        certificate=files["cert"],
        key=files["key"],
        ca_certificate=files["ca"],
    )
    argv = superlink.process.argv
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    assert argv[argv.index("--port") + 1] == "19093"
    assert "--enable-supernode-auth" in argv
    assert "--insecure" not in argv
    assert argv[argv.index("--ssl-certfile") + 1] == str(files["cert"].resolve())
    assert argv[argv.index("--database") + 1] == str(
        (tmp_path / "flower" / "superlink.db").resolve()
    )
    for name, value in FLOWER_HARDENING.items():
        assert superlink.environment[name] == value
    assert superlink.environment["FLWR_HOME"] == str(tmp_path / "flower" / "home")
    config = (tmp_path / "flower" / "home" / "config.toml").read_text()
    assert 'address = "127.0.0.1:19093"' in config


def test_connection_config_names_the_loopback_superlink(tmp_path: Path) -> None:
    write_connection(tmp_path, address="127.0.0.1:1", ca_certificate=tmp_path / "ca.pem")
    text = (tmp_path / "config.toml").read_text()
    assert 'default = "harmonia"' in text
    assert "[superlink.harmonia]" in text
