import numpy as np
from fastapi.testclient import TestClient

from coordinator.api.routes.site_models import SHA256_HEADER
from coordinator.auth import Role
from coordinator.runtime import CoordinatorRuntime
from coordinator.settings import CoordinatorSettings
from shared.weights import decode_weights, encode_weights, weights_sha256
from tests.unit.coordinator.api.test_routes import enrolled, site_client
from tests.unit.coordinator.conftest import auth, token_for


def _register(coordinator: CoordinatorRuntime, value: float) -> bytes:
    weights = encode_weights({"w": np.full(4, value, dtype=np.float32)})
    coordinator.models.register(
        "nodules",
        run_id="run-1",
        plan={"project": "lung", "epochs": 1},
        guideline=("lung", "1"),
        aggregation="fedavg",
        secure_aggregation=False,
        rounds=1,
        sites=["hospital-a"],
        privacy={"hospital-a": {"epsilon": 0.5, "delta": 1e-5, "releases": 1}},
        metrics={"final": {"dice": 0.5}},
        weights=weights,
    )
    return weights


def test_admins_list_show_and_read_cards(
    client: TestClient, coordinator: CoordinatorRuntime
) -> None:
    _register(coordinator, 1.0)
    _register(coordinator, 2.0)
    headers = auth(token_for(coordinator, Role.VIEWER))
    listing = client.get("/api/v1/models", headers=headers).json()
    assert [v["version"] for v in listing["models"][0]["versions"]] == [1, 2]
    assert client.get("/api/v1/models/nodules", headers=headers).json()["latest"] == 2
    shown = client.get("/api/v1/models/nodules/1", headers=headers).json()
    assert shown["privacy"]["hospital-a"]["epsilon"] == 0.5
    assert client.get("/api/v1/models/nodules/latest", headers=headers).json()["version"] == 2
    card = client.get("/api/v1/models/nodules/2/card", headers=headers).json()
    assert card["model"] == {**card["model"], "name": "nodules", "version": 2}
    markdown = client.get("/api/v1/models/nodules/2/card?format=markdown", headers=headers)
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text.startswith("# Model card: nodules v2")
    coordinator.models.start_run("run-1", model="nodules", plan={}, config={}, rounds=1)
    runs = client.get("/api/v1/training/runs", headers=headers).json()["runs"]
    assert runs[0]["run_id"] == "run-1" and runs[0]["status"] == "running"
    assert (
        client.get("/api/v1/training/runs/run-1", headers=headers).json()["rounds_requested"] == 1
    )


def test_bad_requests_get_specific_errors(
    client: TestClient, coordinator: CoordinatorRuntime
) -> None:
    headers = auth(token_for(coordinator, Role.VIEWER))
    assert client.get("/api/v1/models").status_code == 401
    assert client.get("/api/v1/models/nodules", headers=headers).status_code == 404
    _register(coordinator, 1.0)
    assert client.get("/api/v1/models/nodules/9", headers=headers).status_code == 404
    assert client.get("/api/v1/models/nodules/one", headers=headers).status_code == 400
    assert (
        client.get("/api/v1/models/nodules/1/card?format=pdf", headers=headers).status_code == 400
    )
    assert client.get("/api/v1/training/runs/none", headers=headers).status_code == 404


def test_enrolled_sites_pull_verified_weights(
    client: TestClient,
    coordinator_settings: CoordinatorSettings,
    coordinator: CoordinatorRuntime,
) -> None:
    weights = _register(coordinator, 3.0)
    site = site_client(
        coordinator_settings, coordinator, enrolled(client, coordinator, "hospital-a")
    )
    listing = site.get("/api/v1/site/models").json()
    assert listing["site"] == "hospital-a"
    assert listing["models"][0]["sha256"] == weights_sha256(weights)
    # the training plan it was registered with, its project apart
    assert listing["models"][0]["plan"] == {"epochs": 1}
    assert listing["models"][0]["project"] == "lung"
    pulled = site.get("/api/v1/site/models/nodules/latest")
    assert pulled.status_code == 200
    assert pulled.content == weights
    assert pulled.headers[SHA256_HEADER] == weights_sha256(pulled.content)
    arrays, _ = decode_weights(pulled.content)
    assert float(arrays["w"][0]) == 3.0
    assert site.get("/api/v1/site/models/nodules/2").status_code == 404
    assert client.get("/api/v1/site/models").status_code == 401  # no client certificate
