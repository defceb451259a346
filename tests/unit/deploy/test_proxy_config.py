"""The coordinator's reverse proxy routes only the REST API, the site API and the Fleet proxy."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.unit.deploy.conftest import DEPLOY
from tests.unit.deploy.env_files import read_env
from tests.unit.deploy.nginx_config import Directive, parse

CONF = DEPLOY / "nginx" / "coordinator.conf"
STREAM_MODULE = Path("/usr/lib/nginx/modules/ngx_stream_module.so")


@pytest.fixture(scope="module")
def config() -> Directive:
    return parse(CONF.read_text())


@pytest.fixture(scope="module")
def coordinator_env() -> dict[str, str]:
    return read_env(DEPLOY / "config" / "coordinator.env.example")


def _listen_port(server: Directive) -> int:
    (listen,) = server.find("listen")
    return int(listen.args[0].rpartition(":")[2])


def test_https_routes_only_the_rest_api_and_health(
    config: Directive, coordinator_env: dict[str, str]
) -> None:
    (http,) = config.find("http")
    (server,) = http.find("server")
    assert _listen_port(server) == 443 and "ssl" in server.find("listen")[0].args
    locations = {" ".join(loc.args): loc for loc in server.find("location")}
    assert set(locations) == {"/api/v1/", "= /healthz", "/"}
    admin = f"http://127.0.0.1:{coordinator_env['HARMONIA_COORDINATOR_PORT']}"
    for path in ("/api/v1/", "= /healthz"):
        (target,) = locations[path].find("proxy_pass")
        assert target.args == [admin], path
    (fallback,) = locations["/"].find("return")
    assert fallback.args == ["404"]
    assert not locations["/"].find("proxy_pass")


def test_streams_pass_tls_to_the_site_api_and_the_fleet_proxy_only(
    config: Directive, coordinator_env: dict[str, str]
) -> None:
    (stream,) = config.find("stream")
    routes = {_listen_port(s): s.find("proxy_pass")[0].args[0] for s in stream.find("server")}
    assert routes == {
        8443: f"127.0.0.1:{coordinator_env['HARMONIA_COORDINATOR_SITE_PORT']}",
        9092: f"127.0.0.1:{coordinator_env['HARMONIA_COORDINATOR_FLEET_PORT']}",
    }
    assert coordinator_env["HARMONIA_COORDINATOR_FLEET_ADDRESS"].endswith(":9092")
    assert coordinator_env["HARMONIA_COORDINATOR_SITE_API_URL"].endswith(":8443")


def test_nothing_reaches_the_superlink_or_other_routes(
    config: Directive, coordinator_env: dict[str, str]
) -> None:
    superlink = coordinator_env["HARMONIA_COORDINATOR_SUPERLINK_PORT"]
    targets = [d.args[0] for d in config.walk() if d.name == "proxy_pass"]
    assert targets and all(not t.endswith(f":{superlink}") for t in targets)
    listens = {int(d.args[0].rpartition(":")[2]) for d in config.walk() if d.name == "listen"}
    assert listens == {443, 8443, 9092}
    text = CONF.read_text()
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    for forbidden in ("/v1/control", "/v1/runtime", "/metrics", "/docs", "/ui"):
        assert forbidden not in body
    # the SuperLink stays on loopback and the Fleet proxy is what nodes are sent to
    assert coordinator_env["HARMONIA_COORDINATOR_FLEET_HOST"] == "127.0.0.1"
    assert coordinator_env["HARMONIA_COORDINATOR_FLEET_PORT"] != superlink


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_nginx_accepts_the_config(tmp_path: Path) -> None:
    certificate = tmp_path / "fullchain.pem"
    key = tmp_path / "privkey.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "ec"),
            *("-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"),
            *("-keyout", str(key), "-out", str(certificate), "-days", "1"),
            *("-subj", "/CN=coordinator.example.org"),
        ],
        check=True,
        capture_output=True,
    )
    text = CONF.read_text().replace("/etc/nginx/certs/", f"{tmp_path}/")
    text = text.replace("pid /tmp/nginx.pid;", f"pid {tmp_path}/nginx.pid;")
    if STREAM_MODULE.exists():  # Debian builds the stream module as a dynamic module
        text = f"load_module {STREAM_MODULE};\n{text}"
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    result = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-e", "stderr", "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
