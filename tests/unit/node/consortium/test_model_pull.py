import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from node.assist.models import bundle_from_store
from node.consortium.errors import CoordinatorRefusedError
from node.consortium.membership import MembershipFiles
from node.consortium.models import SHA256_HEADER, pull_model
from shared.weights import encode_weights, weights_sha256

WEIGHTS = encode_weights({"w": np.arange(6, dtype=np.float32)})


PLAN = {"name": "seg", "task": "segmentation", "labels": ["lesion"]}


def _client(
    weights: bytes = WEIGHTS, *, header: str | None = None, plan: dict[str, Any] | None = None
) -> httpx.Client:
    digest = weights_sha256(WEIGHTS)
    calls = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path == "/api/v1/site/models":
            listing = [
                {"name": "seg", "version": v, "sha256": digest, "guideline": {"name": "g"}}
                | ({"plan": plan} if plan is not None else {})
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


def test_the_pulled_record_carries_the_plan_and_assist_uses_it(tmp_path: Path) -> None:
    files = MembershipFiles(tmp_path / "consortium")
    pulled = pull_model(tmp_path, files, client=_client(plan=PLAN))
    assert pulled.plan == PLAN and pulled.to_json()["plan"] == PLAN
    record = json.loads(pulled.path.with_suffix(".json").read_text())
    assert record["plan"] == PLAN and record["sha256"] == pulled.sha256
    bundle = bundle_from_store(tmp_path, "seg@2")  # no --plan, no guideline: the record's
    assert bundle.plan.name == "seg" and bundle.ref.version == "2"


def test_a_stored_version_without_a_plan_gets_it_on_the_next_pull(tmp_path: Path) -> None:
    files = MembershipFiles(tmp_path / "consortium")
    old = pull_model(tmp_path, files, client=_client())  # an older coordinator: no plan
    assert old.plan is None
    record_path = old.path.with_suffix(".json")
    pulled_at = json.loads(record_path.read_text())["pulled_at"]
    client = _client(plan=PLAN)
    again = pull_model(tmp_path, files, client=client)
    assert again.downloaded is False and again.plan == PLAN
    assert client.calls == ["/api/v1/site/models"]  # type: ignore[attr-defined]
    record = json.loads(record_path.read_text())
    assert record["plan"] == PLAN and record["pulled_at"] == pulled_at
    assert bundle_from_store(tmp_path, "seg@2").plan.name == "seg"
