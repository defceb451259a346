from pathlib import Path

import pytest

from coordinator.settings import CoordinatorSettings, DeploymentProfile
from shared.errors import ConfigurationError


def test_defaults_embed_sqlite_and_loopback(tmp_path: Path) -> None:
    settings = CoordinatorSettings(data_dir=tmp_path)
    assert settings.resolved_database_url.endswith("coordinator.sqlite3")
    assert settings.resolved_public_url == "http://127.0.0.1:8200"
    assert settings.resolved_site_api_url == "https://127.0.0.1:8443"
    assert settings.secrets_dir == tmp_path / "secrets"
    assert settings.fleet_address == ""


def test_environment_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARMONIA_COORDINATOR_PORT", "9000")
    monkeypatch.setenv("HARMONIA_COORDINATOR_FLEET_ADDRESS", "fleet.example:9092")
    settings = CoordinatorSettings(data_dir=tmp_path)
    assert settings.port == 9000
    assert settings.fleet_address == "fleet.example:9092"


def test_urls_can_be_set(tmp_path: Path) -> None:
    settings = CoordinatorSettings(
        data_dir=tmp_path,
        public_url="https://c.example/",
        site_api_url="https://s.example:8443/",
        server_names=["s.example"],
    )
    assert settings.resolved_public_url == "https://c.example"
    assert settings.resolved_site_api_url == "https://s.example:8443"


def test_wildcard_bind_is_advertised_on_loopback(tmp_path: Path) -> None:
    assert CoordinatorSettings(data_dir=tmp_path, host="0.0.0.0").resolved_public_url == (
        "http://127.0.0.1:8200"
    )


def _production(tmp_path: Path, **fields: object) -> CoordinatorSettings:
    values: dict[str, object] = {"public_url": "https://coordinator.example"}
    values.update(fields)
    return CoordinatorSettings(data_dir=tmp_path, profile=DeploymentProfile.PRODUCTION, **values)


def test_production_accepts_a_safe_configuration(tmp_path: Path) -> None:
    assert _production(tmp_path).profile is DeploymentProfile.PRODUCTION


@pytest.mark.parametrize(
    ("fields", "setting"),
    [
        ({"host": "0.0.0.0"}, "host"),
        ({"public_url": None}, "public_url"),
        ({"public_url": "http://coordinator.example"}, "public_url"),
        ({"bootstrap_token": "short-but-24-characters!"}, "bootstrap_token"),
        ({"enrollment_token_hours": 24 * 30}, "enrollment_token_hours"),
        ({"fsync": False}, "fsync"),
        ({"capture_dir": "/tmp/capture"}, "capture_dir"),
    ],
)
def test_production_refuses_insecure_settings(
    tmp_path: Path, fields: dict[str, object], setting: str
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        _production(tmp_path, **fields)
    assert refused.value.setting == setting


def test_unknown_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="extra"):
        CoordinatorSettings(data_dir=tmp_path, nonsense=1)  # type: ignore[call-arg]


def test_the_site_certificate_must_name_the_site_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"add 'nodes\.example'") as refused:
        CoordinatorSettings(data_dir=tmp_path, site_api_url="https://nodes.example:8443")
    assert refused.value.setting == "server_names"
    named = CoordinatorSettings(
        data_dir=tmp_path, site_api_url="https://nodes.example:8443", server_names=["nodes.example"]
    )
    assert named.resolved_site_api_url == "https://nodes.example:8443"
