"""Call the Alpha Vantage REST API, within its rate limits. Never writes the lake.

One call at a time (the plan's rate limit makes concurrency pointless), paced client-side to
``calls_per_minute``. Errors in disguise (HTTP 200 with only ``Error Message``, ``Information`` or
``Note``) are recognised: a rate-limit reply waits and retries while the run's total wait stays
within ``max_wait_s``; 5xx, 429 and timeouts retry with exponential back-off; an invalid symbol, a
premium endpoint or a refused key fail at once. The API key is sent as the ``apikey`` query
parameter (the only way the API accepts it) and never appears in a message, an error or a log.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import httpx

from marketlake.config import AlphaVantageSettings
from marketlake.errors import ConfigError, SourceError, TerminalError, TransientError
from marketlake.sources.alphavantage.parse import SOURCE, Function, classify_reply

log = logging.getLogger(__name__)


class VendorRefusedError(SourceError):
    """Alpha Vantage answered with an error for this request (bad symbol, premium, demo key)."""


class RateLimitedError(TransientError):
    """Rate-limit replies kept coming after the run had waited ``max_wait_s`` in all."""


class DailyLimitError(TransientError):
    """Alpha Vantage says the day's calls are spent (it counts calls made anywhere with the key)."""


class DownloadError(TransientError):
    """A call kept failing with a 5xx, 429, timeout or connection error after every retry."""


class BudgetExhaustedError(TerminalError):
    """The daily call budget (``calls_per_day``) is spent: no more calls are made today."""


class _Redact(logging.Filter):
    """Drops the API key from log records of the HTTP library (it logs request URLs)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if any(s in text for s in self.secrets):
            for secret in self.secrets:
                text = text.replace(secret, "***")
            record.msg, record.args = text, ()
        return True


_REDACT = _Redact()
logging.getLogger("httpx").addFilter(_REDACT)


class AlphaVantageClient:
    """The query endpoint of one API key.

    Args:
        settings: Endpoint, key, rate limits, timeout, retries and back-off.
        before_call: Called before every HTTP call (the daily budget: it raises
            :class:`BudgetExhaustedError` when no call is left).
        not_sent: Called when a call could not even connect (it never reached the vendor, so
            the budget gets it back).
        sleep: How to wait (pacing, rate limits, back-off).
        clock: A monotonic clock in seconds (pacing).

    Raises:
        ConfigError: no API key is set.
    """

    def __init__(
        self,
        settings: AlphaVantageSettings,
        *,
        before_call: Callable[[], None] = lambda: None,
        not_sent: Callable[[], None] = lambda: None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if settings.api_key is None or not settings.api_key.get_secret_value():
            raise ConfigError(
                "no Alpha Vantage API key is set",
                source=SOURCE,
                hint="set MARKETLAKE_SOURCES__ALPHAVANTAGE__API_KEY or "
                "sources.alphavantage.api_key in marketlake.yaml",
            )
        self.settings = settings
        self._key = settings.api_key.get_secret_value()
        _REDACT.secrets.add(self._key)
        self._before_call = before_call
        self._not_sent = not_sent
        self._sleep = sleep
        self._clock = clock
        self._recent: deque[float] = deque()  # times of the calls of the last minute
        self._http = httpx.Client(timeout=settings.timeout_s, follow_redirects=True)
        self.calls = 0  # HTTP calls made
        self.waited_s = 0.0  # total time waited on rate-limit replies (bounded by max_wait_s)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def __enter__(self) -> AlphaVantageClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def redact(self, text: str) -> str:
        """``text`` without the API key (vendor messages can echo it)."""
        return text.replace(self._key, "***")

    def _pace(self) -> None:
        """Wait so that no more than ``calls_per_minute`` calls start within any 60 s."""
        now = self._clock()
        while self._recent and now - self._recent[0] >= 60:
            self._recent.popleft()
        if len(self._recent) >= self.settings.calls_per_minute:
            delay = 60 - (now - self._recent[0])
            log.info("pacing to %d calls/min: waiting %.1fs", self.settings.calls_per_minute, delay)
            self._sleep(delay)
            self._recent.popleft()
        self._recent.append(self._clock())

    def _get(self, params: dict[str, str]) -> httpx.Response:
        self._before_call()
        self._pace()
        self.calls += 1
        return self._http.get(self.settings.base_url, params={**params, "apikey": self._key})

    def fetch(self, function: Function, symbol: str, *, output_size: str | None = None) -> bytes:
        """Download one series: the reply's bytes, exactly as received.

        Args:
            function: ``TIME_SERIES_DAILY`` or ``TIME_SERIES_WEEKLY_ADJUSTED``.
            symbol: The symbol, as Alpha Vantage spells it (``IBM``, ``TSCO.LON``).
            output_size: ``full`` or ``compact`` (daily only).

        Returns:
            The body of a data reply (never an error body).

        Raises:
            VendorRefusedError: invalid symbol or call, premium endpoint, demo or refused key.
            RateLimitedError: still rate limited after waiting ``max_wait_s`` in all.
            DailyLimitError: Alpha Vantage says the day's calls are spent.
            DownloadError: 5xx, 429, timeouts or connection errors after every retry.
            BudgetExhaustedError: from ``before_call``, when the daily budget is spent.
            SourceError: a reply that is neither data nor a known error (HTML, other JSON).
        """
        params = {"function": function, "symbol": symbol, "datatype": "json"}
        if output_size is not None:
            params["outputsize"] = output_size
        where: dict[str, Any] = {"source": SOURCE, "symbol": symbol, "function": function}
        s = self.settings
        failures = rate_limited = 0
        while True:
            problem = None
            try:
                response = self._get(params)
            except httpx.TimeoutException:
                problem = f"no answer within timeout_s={s.timeout_s:g}s"
            except httpx.ConnectError as exc:
                self._not_sent()
                problem = f"cannot connect ({self.redact(str(exc))})"
            except httpx.TransportError as exc:
                problem = f"connection failed ({type(exc).__name__}: {self.redact(str(exc))})"
            else:
                status = response.status_code
                if status >= 500 or status == 429:
                    problem = f"HTTP {status} {response.reason_phrase}"
                elif status >= 400:
                    raise SourceError(
                        f"Alpha Vantage answered HTTP {status} {response.reason_phrase}",
                        **where,
                        hint="check sources.alphavantage.base_url",
                    )
                else:
                    reply = classify_reply(response.content)
                    message = self.redact(reply.message)
                    if reply.kind == "data":
                        return response.content
                    if reply.kind == "rate_limit":
                        rate_limited += 1
                        self._wait_for_rate(rate_limited, message, where)
                        continue
                    if reply.kind == "daily_limit":
                        raise DailyLimitError(
                            f"Alpha Vantage says the day's calls are spent: {message}",
                            **where,
                            hint="run again tomorrow (US/Eastern day) or upgrade the plan; "
                            "--from-bronze rebuilds silver from what was downloaded",
                        )
                    if reply.kind == "invalid":
                        raise VendorRefusedError(
                            f"Alpha Vantage rejected the request: {message}",
                            **where,
                            hint="check the symbol (Alpha Vantage spelling, e.g. IBM, TSCO.LON)",
                        )
                    if reply.kind == "refused":
                        raise VendorRefusedError(
                            f"Alpha Vantage refused the request: {message}",
                            **where,
                            hint="a premium endpoint or the demo key: check "
                            "sources.alphavantage.api_key and what your plan includes",
                        )
                    raise SourceError(
                        f"unexpected reply from Alpha Vantage: {message}",
                        **where,
                        hint="check sources.alphavantage.base_url; run again later",
                    )
            failures += 1
            if failures > s.retries:
                raise DownloadError(
                    f"{problem}, after {s.retries} retries",
                    **where,
                    hint="Alpha Vantage is unreachable or failing: run the same command later",
                )
            delay = s.backoff_s * 2 ** (failures - 1)
            log.info("%s: %s; retry %d in %.1fs", symbol, problem, failures, delay)
            self._sleep(delay)

    def _wait_for_rate(self, attempt: int, message: str, where: dict[str, Any]) -> None:
        """Wait one pacing slot (doubling per consecutive rate-limit reply), within max_wait_s."""
        s = self.settings
        delay = 60 / s.calls_per_minute * 2 ** (attempt - 1)
        if self.waited_s + delay > s.max_wait_s:
            raise RateLimitedError(
                f"still rate limited after waiting {self.waited_s:.0f}s in this run: {message}",
                **where,
                hint="run the same command later (symbols done are skipped), or raise "
                "sources.alphavantage.max_wait_s",
            )
        log.info("rate limited: waiting %.1fs", delay)
        self._sleep(delay)
        self.waited_s += delay
