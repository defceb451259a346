"""The HTTP observability middleware on a small real app."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from shared.observability import UNMATCHED_ROUTE, HttpMetrics, HttpObservability, request_id


def _app() -> tuple[FastAPI, CollectorRegistry]:
    registry = CollectorRegistry()
    app = FastAPI()
    app.add_middleware(HttpObservability, metrics=HttpMetrics(registry, "t"))

    @app.get("/items/{item}")
    def item(item: str) -> dict[str, str | None]:
        logging.getLogger("harmonia.test").info("serving")
        return {"item": item, "request_id": request_id.get()}

    @app.get("/fail")
    def fail() -> None:
        raise RuntimeError("unexpected")

    return app, registry


def _count(registry: CollectorRegistry, **labels: str) -> float:
    return registry.get_sample_value("t_http_requests_total", labels) or 0.0


def test_requests_are_counted_by_route_template_never_by_path() -> None:
    app, registry = _app()
    client = TestClient(app)
    for name in ("a", "b", "1.2.840.99"):
        assert client.get(f"/items/{name}?PatientName=DOE").status_code == 200
    assert _count(registry, method="GET", route="/items/{item}", status="200") == 3
    assert client.get("/nowhere/1.2.3").status_code == 404
    assert _count(registry, method="GET", route=UNMATCHED_ROUTE, status="404") == 1
    text = "\n".join(f"{s.name}{s.labels}" for m in registry.collect() for s in m.samples)
    assert "1.2.840.99" not in text and "DOE" not in text
    duration = registry.get_sample_value(
        "t_http_request_duration_seconds_count", {"method": "GET", "route": "/items/{item}"}
    )
    assert duration == 3


def test_an_unhandled_error_counts_as_500() -> None:
    app, registry = _app()
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/fail").status_code == 500
    assert _count(registry, method="GET", route="/fail", status="500") == 1


def test_the_request_id_is_taken_or_made_and_returned() -> None:
    app, _ = _app()
    client = TestClient(app)
    given = client.get("/items/x", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    assert given.json()["request_id"] == "abc-123"
    made = client.get("/items/x", headers={"X-Request-ID": "bad id with spaces"})
    assert made.headers["x-request-id"] != "bad id with spaces"
    assert len(made.headers["x-request-id"]) == 32
    assert made.json()["request_id"] == made.headers["x-request-id"]


def test_the_access_log_has_the_template_not_the_query(caplog: pytest.LogCaptureFixture) -> None:
    app, _ = _app()
    with caplog.at_level(logging.INFO, logger="harmonia.access"):
        TestClient(app).get("/items/secret-uid?PatientName=DOE^JOHN")
    (record,) = [r for r in caplog.records if r.name == "harmonia.access"]
    assert record.getMessage().startswith("GET /items/{item} 200")
    assert "DOE" not in record.getMessage() and "secret-uid" not in record.getMessage()
    assert record.__dict__["status"] == 200
