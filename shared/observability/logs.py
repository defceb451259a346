"""Structured logs: one JSON object per line, with the request id, never a secret.

:func:`configure_logging` installs either the plain text format or
:class:`JsonFormatter` on the root logger (``--log-format json`` of both
services). Each JSON line carries ``time`` (ISO 8601, UTC), ``level``,
``logger``, ``message`` and, while a request is being served, its
``request_id`` (:data:`request_id`, set by
:class:`~shared.observability.http.HttpObservability`).

Messages pass through :func:`redact` in both formats: API tokens (``hn_...``,
``hca_...``) and enrollment tokens (``hce.<site>.<secret>``) become
``[redacted]``, so a token that reaches a log message by mistake never reaches
the log file. Protected health information is kept out by what the services
log (route templates, never query strings or DICOM attributes), not by a
filter: no filter can recognise every name.
"""

from __future__ import annotations

import contextvars
import enum
import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import IO, Any

__all__ = ["JsonFormatter", "LogFormat", "configure_logging", "redact", "request_id"]

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "harmonia_request_id", default=None
)
"""The id of the HTTP request being served in this context (None outside requests)."""

_SECRETS = re.compile(
    r"\b(?:hn|hca)_[A-Za-z0-9_-]{8,}"  # node and coordinator API tokens
    r"|\bhce\.[a-z0-9-]+\.[A-Za-z0-9_-]{20,}"  # enrollment tokens
    r"|(?i:bearer)\s+[A-Za-z0-9._~+/=-]{8,}"  # an Authorization header value
)
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# LogRecord attributes that are not caller-supplied ``extra`` fields.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)


class LogFormat(enum.StrEnum):
    """How the services write their logs."""

    TEXT = "text"
    JSON = "json"


def redact(text: str) -> str:
    """``text`` with every API or enrollment token replaced by ``[redacted]``."""
    return _SECRETS.sub("[redacted]", text)


_CHATTY_CLIENTS = ("httpx", "httpcore")
"""HTTP client libraries whose per-request INFO lines are kept out of the log unless DEBUG."""


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or request_id.get(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in entry and not key.startswith("_"):
                entry[key] = value if isinstance(value, int | float | bool) else redact(str(value))
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class _RedactingTextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(
    level: str = "INFO",
    log_format: LogFormat | str = LogFormat.TEXT,
    *,
    stream: IO[str] | None = None,
) -> None:
    """Send the root logger's records to ``stream`` (stderr) in ``log_format``.

    Replaces handlers an earlier call installed, so a process may call it again
    once its settings are read (the CLI configures text first, ``serve`` may
    switch to JSON).
    """
    chosen = LogFormat(log_format)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter() if chosen is LogFormat.JSON else _RedactingTextFormatter(_TEXT_FORMAT)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # httpx logs every request it sends at INFO: the coordinator's Fleet proxy forwards each
    # SuperNode poll, which made 9 of 10 lines of its log; our own access log says what came in
    chatty = logging.WARNING if root.getEffectiveLevel() > logging.DEBUG else logging.NOTSET
    for name in _CHATTY_CLIENTS:
        logging.getLogger(name).setLevel(chatty)
