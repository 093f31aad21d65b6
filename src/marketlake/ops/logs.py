"""Structured logs: one JSON object per line, for log shippers (Loki, ELK, CloudWatch...).

Every ledger row is logged as an ``event: step`` record with its run id, step, status, rows and
seconds (:func:`marketlake.ops.ledger.event_fields`); ``marketlake run`` adds one
``event: pipeline_step`` per step of the flow. :class:`JsonFormatter` turns each record into one
line holding the standard fields plus every ``extra=`` field; :func:`configure_logging` installs
it on the root logger (the CLI calls it for ``ops.log_format: json``).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: ts, level, logger, message, then the extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single line of JSON (never raises on odd extra values)."""
        event: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                event[key] = value
        if record.exc_info:
            event["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(event, default=str, ensure_ascii=False)


def configure_logging(
    fmt: Literal["text", "json"], *, level: int, stream: TextIO | None = None
) -> None:
    """Send every log record to ``stream`` (stderr) as text or JSON lines, from ``level`` on.

    Replaces the root logger's handlers, so calling it again switches the format.

    Args:
        fmt: ``text`` (human lines) or ``json`` (one object per line).
        level: The lowest level logged (``logging.INFO`` shows one event per step).
        stream: Where lines go; stderr by default, so stdout stays the command's output.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for chatty in ("httpx", "httpcore"):  # they log request URLs (a webhook's holds a secret)
        logging.getLogger(chatty).setLevel(max(level, logging.WARNING))
