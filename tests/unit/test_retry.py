"""Retries of remote-store calls: transient errors retried with growing delays, others not."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from marketlake.errors import SourceError, TransientError
from marketlake.retry import is_transient, with_retries


class EndpointConnectionError(Exception):
    """Named like botocore's: classified by name, botocore is never imported."""


def flaky(failures: list[BaseException], value: str = "ok") -> Callable[[], str]:
    def call() -> str:
        if failures:
            raise failures.pop(0)
        return value

    return call


def run(fn: Callable[[], str], slept: list[float], **overrides: object) -> str:
    options: dict[str, object] = {
        "what": "download k",
        "retries": 3,
        "backoff_s": 1.0,
        "backoff_max_s": 3.0,
        "denied": lambda exc: SourceError(f"denied: {exc}"),
        "exhausted": lambda exc, n: TransientError(f"gave up after {n}: {exc}"),
        "sleep": slept.append,
    } | overrides
    return with_retries(fn, **options)  # type: ignore[arg-type]


def test_transient_errors_are_retried_with_growing_capped_jittered_delays() -> None:
    slept: list[float] = []
    failures: list[BaseException] = [
        EndpointConnectionError("x"),
        OSError("SlowDown"),
        TimeoutError(),
    ]
    assert run(flaky(failures), slept) == "ok"
    assert len(slept) == 3
    for delay, base in zip(slept, (1.0, 2.0, 3.0), strict=True):  # doubled, capped at 3
        assert base * 0.5 <= delay <= base


def test_transient_errors_outlasting_the_retries_give_one_error_naming_the_attempts() -> None:
    slept: list[float] = []
    failures: list[BaseException] = [OSError("503 ServiceUnavailable")] * 5
    with pytest.raises(TransientError, match="gave up after 4"):
        run(flaky(failures), slept)
    assert len(slept) == 3


def test_refused_credentials_are_never_retried() -> None:
    slept: list[float] = []
    with pytest.raises(SourceError, match="denied"):
        run(flaky([PermissionError("AccessDenied")]), slept)
    assert slept == []


def test_other_errors_are_raised_at_once_as_they_are_or_as_told() -> None:
    slept: list[float] = []
    with pytest.raises(ValueError, match="bad"):
        run(flaky([ValueError("bad")]), slept)
    with pytest.raises(SourceError, match="failed: bad"):
        run(flaky([ValueError("bad")]), slept, failed=lambda exc: SourceError(f"failed: {exc}"))
    with pytest.raises(FileNotFoundError):
        run(flaky([FileNotFoundError("k")]), slept, failed=lambda exc: SourceError("no"))
    assert slept == []


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (EndpointConnectionError(), True),
        (OSError("An error occurred (SlowDown)"), True),
        (OSError("disk full"), False),
        (PermissionError("InternalError"), False),
        (FileNotFoundError("ServiceUnavailable"), False),
    ],
)
def test_what_counts_as_transient(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient


def test_bounded_map_keeps_at_most_n_in_flight_and_returns_each_failure_as_its_error() -> None:
    import threading
    import time

    from marketlake.retry import bounded_map

    lock = threading.Lock()
    running, peak = 0, 0

    def work(n: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.01)
        with lock:
            running -= 1
        if n == 3:
            raise ValueError("three")
        if n == 5:
            raise SourceError("five")
        return n * n

    got = dict(
        bounded_map(
            work, range(10), concurrency=3, unexpected=lambda n, exc: SourceError(f"{n}: {exc}")
        )
    )
    assert sorted(got) == list(range(10))
    assert peak <= 3
    assert {n: v for n, v in got.items() if isinstance(v, int)} == {
        n: n * n for n in range(10) if n not in (3, 5)
    }
    assert str(got[3]).startswith("3: three")
    assert str(got[5]).startswith("five")
