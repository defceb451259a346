import stat
from pathlib import Path

from coordinator.runtime import open_coordinator
from coordinator.settings import CoordinatorSettings
from shared.crypto import fingerprint, load_certificates, verify_certificate


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keys_are_created_once_with_private_modes(tmp_path: Path) -> None:
    settings = CoordinatorSettings(data_dir=tmp_path / "c", fsync=False)
    with open_coordinator(settings) as first:
        ca_serial = first.keys.ca.certificate.serial_number
        signing = fingerprint(first.keys.signing_key)
    secrets = settings.secrets_dir
    assert _mode(secrets) == 0o700
    for name in ("ca.key", "guideline-signing.key", "site-api.key"):
        assert _mode(secrets / name) == 0o600, name
    with open_coordinator(settings) as second:
        assert second.keys.ca.certificate.serial_number == ca_serial
        assert fingerprint(second.keys.signing_key) == signing


def test_site_api_certificate_names_the_configured_hosts(tmp_path: Path) -> None:
    settings = CoordinatorSettings(
        data_dir=tmp_path / "c",
        fsync=False,
        site_api_url="https://coordinator.example:8443",
        server_names=["coordinator.example", "10.0.0.5"],
    )
    with open_coordinator(settings) as runtime:
        chain = load_certificates(runtime.keys.server_certificate_path.read_bytes())
        verify_certificate(chain[:1], runtime.keys.ca.certificate, usage="server")
        names = str(chain[0].extensions)
    assert "coordinator.example" in names
    assert "10.0.0.5" in names


def test_first_admin_token_only_once(tmp_path: Path) -> None:
    settings = CoordinatorSettings(
        data_dir=tmp_path / "c", fsync=False, bootstrap_token="chosen-token-0123456789abcdef"
    )
    with open_coordinator(settings) as runtime:
        issued = runtime.ensure_admin_token()
        assert issued is not None
        assert issued.token == "chosen-token-0123456789abcdef"
        assert runtime.tokens.resolve(issued.token).role == "coordinator-admin"
        assert runtime.ensure_admin_token() is None


def test_server_certificate_is_reissued_only_when_the_names_change(tmp_path: Path) -> None:
    settings = CoordinatorSettings(data_dir=tmp_path / "c", fsync=False)
    with open_coordinator(settings) as runtime:
        first = runtime.keys.server_certificate_path.read_bytes()
    with open_coordinator(settings) as runtime:
        assert runtime.keys.server_certificate_path.read_bytes() == first
    renamed = settings.model_copy(update={"server_names": ["coordinator.example"]})
    with open_coordinator(renamed) as runtime:
        assert runtime.keys.server_certificate_path.read_bytes() != first
