"""Alerts reach a real local webhook, are retried when it fails, and never raise."""

from __future__ import annotations

import socket

from pydantic import SecretStr

from marketlake.config import AlertSettings
from marketlake.ops.alerts import alert_payload, send_alert
from tests.unit.ops.receiver import webhook_receiver


def _alerts(url: str, **extra: object) -> AlertSettings:
    return AlertSettings(webhook_url=SecretStr(url), **extra)  # type: ignore[arg-type]


def test_an_alert_is_posted_as_json_with_a_readable_text() -> None:
    body = alert_payload("step_failed", run_id="r1", step="ingest.csv_daily", error="bad file")
    with webhook_receiver() as hook:
        assert send_alert(_alerts(hook.url), body)
    assert hook.accepted == [body]
    assert body["kind"] == "step_failed"
    assert "ingest.csv_daily failed: bad file" in body["text"]


def test_a_failing_webhook_is_retried_with_growing_waits() -> None:
    waits: list[float] = []
    with webhook_receiver(fail_first=2) as hook:
        delivered = send_alert(
            _alerts(hook.url, attempts=3, backoff_s=0.25),
            alert_payload("quarantine_rate", run_id="r", source="csv_daily", rate=0.5,
                          threshold=0.05),
            sleep=waits.append,
        )  # fmt: skip
    assert delivered
    assert len(hook.received) == 3
    assert len(hook.accepted) == 1
    assert waits == [0.25, 0.5]
    assert "50.0%" in hook.accepted[0]["text"]


def test_an_unreachable_webhook_is_logged_not_raised(caplog) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hook/secret-token"
    waits: list[float] = []
    assert not send_alert(_alerts(url, attempts=2, timeout_s=2), {"kind": "x"}, sleep=waits.append)
    assert len(waits) == 1
    assert "not delivered" in caplog.text
    assert "secret-token" not in caplog.text  # the URL is a secret


def test_no_webhook_configured_sends_nothing() -> None:
    assert not send_alert(AlertSettings(), {"kind": "x"})
