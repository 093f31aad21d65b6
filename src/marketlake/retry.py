"""Retrying calls to a remote store: what counts as transient, back-off with jitter, one message.

The sources that read S3-compatible servers (Polygon flat files, JSON records) and the lake
itself meet the same failures through s3fs/botocore/aiohttp: refused credentials (never
retried), a missing key (the caller's business), connection drops, timeouts and 5xx/throttling
(retried with exponential back-off and jitter, then reported). How each source words its errors
differs; the loop and the classification are the same, so they live here once.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar, cast

from marketlake.errors import MarketLakeError

log = logging.getLogger(__name__)

T = TypeVar("T")
Item = TypeVar("Item")
_END = object()

# Exception class names (anywhere in the MRO) of connection-level failures worth a retry; by
# name, so neither botocore nor aiohttp is imported for a local lake.
TRANSIENT_NAMES = frozenset(
    {
        "EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError",
        "ConnectionClosedError", "ClientConnectorError", "ServerDisconnectedError",
        "ClientPayloadError", "IncompleteReadError", "ResponseStreamingError", "TimeoutError",
        "ConnectionError",
    }
)  # fmt: skip

# s3fs turns S3 error codes it does not map into a plain OSError carrying the code's text.
TRANSIENT_CODES = (
    "SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttl",
    "Bad Gateway", "Gateway Timeout", "short read",
)  # fmt: skip


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text (its class name when it has none)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def is_transient(exc: BaseException) -> bool:
    """Whether trying again may succeed (a dropped connection, a timeout, a 5xx, throttling)."""
    if isinstance(exc, (FileNotFoundError, PermissionError)):
        return False
    if {c.__name__ for c in type(exc).__mro__} & TRANSIENT_NAMES:
        return True
    return any(code in str(exc) for code in TRANSIENT_CODES)


def with_retries(
    fn: Callable[[], T],
    *,
    what: str,
    retries: int,
    backoff_s: float,
    backoff_max_s: float,
    denied: Callable[[PermissionError], MarketLakeError],
    exhausted: Callable[[Exception, int], MarketLakeError],
    failed: Callable[[Exception], MarketLakeError] | None = None,
    sleep: Callable[[float], None],
) -> T:
    """``fn()``, retried ``retries`` times after transient errors, with jittered back-off.

    Args:
        fn: The call.
        what: What it does, for the log ("download us_stocks_sip/...").
        retries: Retries after the first attempt.
        backoff_s: First delay; doubled per retry, times a jitter in [0.5, 1).
        backoff_max_s: Longest delay.
        denied: The error for refused credentials (raised at once).
        exhausted: The error when transient failures outlast the retries (error, attempts).
        failed: The error for any other failure; None re-raises it as it is.
        sleep: How to wait (tests pass a recorder).

    Raises:
        FileNotFoundError: as ``fn`` raised it (a missing key is the caller's business).
        MarketLakeError: as ``fn`` raised it, or one of the errors above.
    """
    for attempt in range(retries + 1):
        try:
            return fn()
        except PermissionError as exc:
            raise denied(exc) from exc
        except (FileNotFoundError, MarketLakeError):
            raise
        except Exception as exc:
            if not is_transient(exc):
                if failed is None:
                    raise
                raise failed(exc) from exc
            if attempt == retries:
                raise exhausted(exc, attempt + 1) from exc
            delay = min(backoff_max_s, backoff_s * 2**attempt) * random.uniform(0.5, 1.0)
            log.info("retrying %s in %.1fs: %s", what, delay, first_line(exc))
            sleep(delay)
    raise AssertionError("unreachable")


def bounded_map(
    fn: Callable[[Item], T],
    items: Iterable[Item],
    *,
    concurrency: int,
    unexpected: Callable[[Item, Exception], MarketLakeError],
) -> Iterator[tuple[Item, T | MarketLakeError]]:
    """``fn(item)`` for each item on ``concurrency`` threads, yielded as each completes.

    At most ``concurrency`` calls are in flight (downloads are not all started at once, so
    memory and open connections stay bounded). One item's failure comes back as its error
    (a ``MarketLakeError`` as raised, anything else through ``unexpected``); the others go on.
    """
    pending: set[Future[T]] = set()
    owner: dict[Future[T], Item] = {}
    queue = iter(items)
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        while True:
            while len(pending) < concurrency:
                nxt = next(queue, _END)
                if nxt is _END:
                    break
                item = cast("Item", nxt)
                future = pool.submit(fn, item)
                owner[future] = item
                pending.add(future)
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                item = owner.pop(future)
                try:
                    yield item, future.result()
                except MarketLakeError as exc:
                    yield item, exc
                except Exception as exc:
                    yield item, unexpected(item, exc)
