"""``/live/{symbol}`` and its event stream over HTTP, fed by the real consumer."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from marketlake.config import Settings
from tests.integration.api.support import Served, serve
from tests.support import free_port

from .conftest import make_settings
from .support import (
    TS0,
    Names,
    connect,
    publish_ticks,
    run_consumer,
    values_table,
    wait_until,
    walk,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def live(nats_url: str, live_db: str, names: Names, tmp_path: Path) -> Iterator[Served]:
    settings = make_settings(nats_url, live_db, names, tmp_path, unit="bar")
    publish_ticks(settings, walk(["AAA", "BRK.B"], 250))
    run_consumer(settings)
    with serve(settings) as served:
        yield served


def events(response: httpx.Response) -> Iterator[dict[str, str]]:
    """Server-sent events as dicts of their fields (comments skipped)."""
    event: dict[str, str] = {}
    for line in response.iter_lines():
        if not line:
            if event:
                yield event
            event = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(": ")
            event[field] = value


def test_latest_values_and_history_are_those_committed(live: Served) -> None:
    rows = [r for r in values_table(live.settings) if r[0] == "BRK.B"]
    got = httpx.get(f"{live.url}/live/BRK.B", params={"ticks": 3, "sessions": 1}).json()
    assert got["unit"] == "bar"
    assert got["windows"] == [20, 30, 200]
    latest = got["latest"]
    # values rows: symbol, ts_ns, seq, ts_event, session, price, size, sma_20, sma_30, sma_200,
    # ema_12, ema_20, ema_26, vwap
    last = rows[-1]
    assert latest["price"] == last[5]
    assert latest["sma"] == {"20": last[7], "30": last[8], "200": last[9]}
    assert latest["ema"] == {"12": last[10], "20": last[11], "26": last[12]}
    assert latest["vwap"] == last[13]
    assert [t["price"] for t in got["ticks"]] == [r[5] for r in rows[-3:]]
    assert len(got["sessions"]) == 1
    assert got["sessions"][0]["close"] == last[5]


def test_unknown_symbols_and_bad_parameters_get_json_errors(live: Served) -> None:
    missing = httpx.get(f"{live.url}/live/NOPE")
    assert missing.status_code == 404
    assert "marketlake stream consume" in missing.json()["detail"]
    assert httpx.get(f"{live.url}/live/NOPE/events").status_code == 404
    assert httpx.get(f"{live.url}/live/AAA", params={"ticks": -1}).status_code == 422


def test_event_stream_sends_the_latest_values_then_each_commit(live: Served) -> None:
    settings = live.settings
    more = [t for t in walk(["AAA", "BRK.B"], 300, start=TS0) if t.ts_event > TS0 + 250 * 10**9]
    with httpx.stream("GET", f"{live.url}/live/AAA/events", params={"limit": 2}, timeout=30) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        received = events(r)
        first = next(received)
        assert first["event"] == "update"

        def feed() -> None:
            publish_ticks(settings, more)
            run_consumer(settings)

        feeder = threading.Thread(target=feed)
        feeder.start()
        second = next(received)
        feeder.join()
        assert int(second["id"]) > int(first["id"])
        assert json.loads(second["data"])["stream_seq"] == int(second["id"])
        assert list(received) == []  # limit=2: the stream ends


def _listeners(settings: Settings) -> int:
    with connect(settings) as con:
        row = con.execute(
            "select count(*) from pg_stat_activity where datname = current_database() "
            "and query ilike 'listen%%' and pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0]) if row else 0


def test_a_client_leaving_ends_its_stream_and_frees_the_connection(live: Served) -> None:
    with httpx.stream("GET", f"{live.url}/live/AAA/events", timeout=30) as r:
        received = events(r)  # kept: dropping the reader would close the connection already
        next(received)
        wait_until(lambda: _listeners(live.settings) == 1, 10, "the stream to LISTEN")
    wait_until(lambda: _listeners(live.settings) == 0, 10, "the LISTEN connection to close")


def test_postgres_unreachable_is_a_503_saying_so(tmp_path: Path, names: Names) -> None:
    from marketlake.config import load_settings

    down = load_settings(
        data_dir=tmp_path,
        warehouse={"postgres": {"host": "127.0.0.1", "port": free_port(), "connect_timeout_s": 2}},
        stream=names.settings(),
    )
    with serve(down) as served:
        for path in ("/live/AAA", "/live/AAA/events"):
            answer = httpx.get(f"{served.url}{path}", timeout=30)
            assert answer.status_code == 503
            assert answer.headers["content-type"] == "application/json"
            assert "cannot reach PostgreSQL" in answer.json()["detail"]


def test_the_dashboards_reader_gives_frames_and_none_before_any_stream(
    live: Served, tmp_path: Path, names: Names
) -> None:
    from marketlake.config import load_settings
    from marketlake.serve.live import live_symbols, read_live

    assert live_symbols(live.settings) == ["AAA", "BRK.B"]
    view = read_live("AAA", history=50, settings=live.settings)
    assert view is not None
    assert view.ticks.height == 50
    assert view.ticks["ts_event"].is_sorted()
    assert view.ticks.row(-1, named=True) == view.latest
    assert view.sessions.height >= 1
    assert set(view.config.indicators) <= set(view.ticks.columns)

    nothing = load_settings(
        data_dir=tmp_path, warehouse={"postgres": {"dbname": f"absent_{names.tag}"}}
    )
    assert read_live("AAA", settings=nothing) is None
    assert live_symbols(nothing) == []
