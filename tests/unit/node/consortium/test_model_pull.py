from pathlib import Path

import httpx
import numpy as np
import pytest

from node.consortium.errors import CoordinatorRefusedError
from node.consortium.membership import MembershipFiles
from node.consortium.models import SHA256_HEADER, pull_model
from shared.weights import encode_weights, weights_sha256

WEIGHTS = encode_weights({"w": np.arange(6, dtype=np.float32)})


def _client(weights: bytes = WEIGHTS, *, header: str | None = None) -> httpx.Client:
    digest = weights_sha256(WEIGHTS)
    calls = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path == "/api/v1/site/models":
            listing = [
                {"name": "seg", "version": v, "sha256": digest, "guideline": {"name": "g"}}
                for v in (1, 2)
            ]
            return httpx.Response(200, json={"site": "a", "models": listing})
        if request.url.path.startswith("/api/v1/site/models/seg/"):
            return httpx.Response(200, content=weights, headers={SHA256_HEADER: header or digest})
        return httpx.Response(404, json={"detail": "no such model"})

    client = httpx.Client(base_url="https://coordinator", transport=httpx.MockTransport(handle))
    client.calls = calls  # type: ignore[attr-defined]
    return client


def test_pulls_the_newest_version_verified_and_only_once(tmp_path: Path) -> None:
    files = MembershipFiles(tmp_path / "consortium")
    client = _client()
    pulled = pull_model(tmp_path, files, client=client)
    assert (pulled.name, pulled.version, pulled.downloaded) == ("seg", 2, True)
    assert pulled.path == tmp_path / "models" / "seg" / "2.weights"
    assert pulled.path.read_bytes() == WEIGHTS
    assert pulled.path.with_suffix(".json").exists()
    again = pull_model(tmp_path, files, name="seg", client=client)
    assert again.downloaded is False
    assert client.calls.count("/api/v1/site/models/seg/2") == 1  # type: ignore[attr-defined]
    first = pull_model(tmp_path, files, version=1, client=client)
    assert first.version == 1


def test_tampered_or_mislabelled_weights_are_refused_and_not_stored(tmp_path: Path) -> None:
    files = MembershipFiles(tmp_path / "consortium")
    tampered = encode_weights({"w": np.ones(6, dtype=np.float32)})
    with pytest.raises(CoordinatorRefusedError, match="do not match their SHA-256"):
        pull_model(tmp_path, files, client=_client(tampered))
    with pytest.raises(CoordinatorRefusedError, match="do not match"):
        pull_model(tmp_path, files, client=_client(header="0" * 64))
    assert not (tmp_path / "models" / "seg" / "2.weights").exists()
    with pytest.raises(CoordinatorRefusedError, match="has no model 'other'"):
        pull_model(tmp_path, files, name="other", client=_client())
