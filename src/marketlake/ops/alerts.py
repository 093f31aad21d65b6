"""Alerts: a JSON POST to a webhook (``ops.alerts.webhook_url``) when something needs a person.

Two kinds: ``step_failed`` (a step of a run failed for good, after its retries) and
``quarantine_rate`` (a source quarantined more than ``ops.alerts.quarantine_rate`` of the rows
it read in a run). Sending is retried with back-off and never raises: an unreachable webhook is
logged, and the run goes on. The URL is a secret (Slack-style webhooks hold a token): it is
never logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from marketlake.config import AlertSettings

log = logging.getLogger(__name__)


def alert_payload(kind: str, **fields: Any) -> dict[str, Any]:
    """The JSON body of an alert: ``kind``, ``at`` (UTC) and the fields, plus a ``text`` line
    (Slack and Mattermost show it as the message)."""
    body: dict[str, Any] = {"kind": kind, "at": datetime.now(UTC).isoformat(timespec="seconds")}
    body.update(fields)
    if kind == "step_failed":
        text = f"marketlake run {fields.get('run_id')}: step {fields.get('step')} failed"
        body["text"] = f"{text}: {fields.get('error')}"
    elif kind == "quarantine_rate":
        body["text"] = (
            f"marketlake run {fields.get('run_id')}: {fields.get('source')} quarantined "
            f"{fields.get('rate', 0):.1%} of its rows (threshold {fields.get('threshold', 0):.1%})"
        )
    return body


def send_alert(
    alerts: AlertSettings,
    body: dict[str, Any],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """POST ``body`` as JSON to the webhook; retried, never raising.

    Args:
        alerts: ``ops.alerts`` (URL, tries, timeout, back-off).
        body: The alert (see :func:`alert_payload`).
        sleep: How to wait between tries (tests pass a recorder).

    Returns:
        Whether the webhook accepted it (2xx); False too when no webhook is configured.
    """
    import json
    import urllib.error
    import urllib.request

    if alerts.webhook_url is None:
        return False
    # urllib, not httpx: httpx logs every request's URL, and this one holds a secret.
    request = urllib.request.Request(
        alerts.webhook_url.get_secret_value(),
        data=json.dumps(body, default=str).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "marketlake"},
        method="POST",
    )
    delay = alerts.backoff_s
    for attempt in range(1, alerts.attempts + 1):
        try:
            with urllib.request.urlopen(request, timeout=alerts.timeout_s):
                return True
        except urllib.error.HTTPError as exc:
            problem = f"HTTP {exc.code}"
            if exc.code < 500 and exc.code != 429:
                break  # the webhook refuses this alert: trying again will not help
        except (urllib.error.URLError, OSError) as exc:
            problem = type(getattr(exc, "reason", exc)).__name__
        if attempt < alerts.attempts:
            sleep(delay)
            delay *= 2
    log.warning(
        "alert %s not delivered to the webhook after %d tries: %s",
        body.get("kind"),
        attempt,
        problem,
        extra={"event": "alert_failed", "kind": body.get("kind")},
    )
    return False
