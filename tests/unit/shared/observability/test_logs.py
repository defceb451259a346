"""JSON log lines: fields, request id, extras, redaction of tokens."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from shared.observability import JsonFormatter, configure_logging, redact, request_id


@pytest.fixture
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def _record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("harmonia.test", logging.WARNING, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def test_a_json_line_has_the_fields_and_the_request_id() -> None:
    token = request_id.set("req-42")
    try:
        line = JsonFormatter().format(_record("stored %d instance(s)", 3, route="/x/{y}"))
    finally:
        request_id.reset(token)
    entry = json.loads(line)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "harmonia.test"
    assert entry["message"] == "stored 3 instance(s)"
    assert entry["request_id"] == "req-42"
    assert entry["route"] == "/x/{y}"
    assert entry["time"].endswith("+00:00")
    assert "\n" not in line


def test_outside_a_request_the_request_id_is_null() -> None:
    assert json.loads(JsonFormatter().format(_record("idle")))["request_id"] is None


@pytest.mark.parametrize(
    "secret",
    [
        "hn_bootstrap_integration-test-token-0123456789",
        "hca_abcdefghijklmnop",
        "hce.hospital-a.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "Bearer abcdefghijklmnopqrstuvwxyz",
    ],
)
def test_tokens_never_reach_a_log_line(secret: str) -> None:
    line = JsonFormatter().format(_record("got %s from caller", secret, header=secret))
    assert secret not in line
    assert "[redacted]" in json.loads(line)["message"]
    assert redact(f"x {secret} y") == "x [redacted] y"


def test_an_exception_is_one_json_field() -> None:
    try:
        raise ValueError("boom hn_secret_value_12345678")
    except ValueError:
        import sys

        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    entry = json.loads(JsonFormatter().format(record))
    assert "ValueError" in entry["exception"]
    assert "hn_secret_value" not in entry["exception"]


def test_configure_logging_switches_format(restore_root_logger: None) -> None:
    stream = io.StringIO()
    configure_logging("INFO", "json", stream=stream)
    logging.getLogger("harmonia.x").info("hello %s", "world")
    configure_logging("INFO", "text", stream=stream)
    logging.getLogger("harmonia.x").info("token hn_abcdefghijkl")
    first, second = stream.getvalue().splitlines()
    assert json.loads(first)["message"] == "hello world"
    assert second.endswith("harmonia.x: token [redacted]")
    assert len(logging.getLogger().handlers) == 1


def test_http_clients_log_each_request_only_at_debug(restore_root_logger: None) -> None:
    stream = io.StringIO()
    try:
        configure_logging("INFO", "text", stream=stream)
        logging.getLogger("httpx").info('HTTP Request: POST https://127.0.0.1/v1/fleet/pull "200"')
        logging.getLogger("httpx").warning("retrying")
        (only,) = stream.getvalue().splitlines()
        assert only.endswith("httpx: retrying")
        configure_logging("DEBUG", "text", stream=stream)
        logging.getLogger("httpx").info("HTTP Request: GET https://127.0.0.1/")
        assert stream.getvalue().endswith("HTTP Request: GET https://127.0.0.1/\n")
    finally:
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.NOTSET)


def test_an_unknown_format_is_refused(restore_root_logger: None) -> None:
    with pytest.raises(ValueError):
        configure_logging("INFO", "xml")
