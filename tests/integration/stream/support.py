"""Helpers of the stream tests: names, publishing, reading what the consumer wrote."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from marketlake.config import Settings
from marketlake.stream.consumer import ConsumeReport, consume
from marketlake.stream.messages import Tick
from marketlake.stream.producer import publish
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[3]
NATS_SERVER = "/usr/sbin/nats-server"
TS0 = 1_704_205_800_000_000_000  # 2024-01-02 14:30 UTC
SECOND = 10**9


@dataclass(frozen=True)
class Names:
    """What one test's streams, subjects, durable and schema are called."""

    tag: str

    @classmethod
    def unique(cls) -> Names:
        return cls(uuid.uuid4().hex[:10])

    def settings(self, schema: str = "live") -> dict[str, str]:
        t = self.tag
        return {
            "stream_name": f"T{t.upper()}",
            "subject_prefix": f"t{t}.ticks",
            "durable": f"d{t}",
            "dead_stream": f"T{t.upper()}_DEAD",
            "dead_subject": f"t{t}.dead",
            "late_subject": f"t{t}.late",
            "pg_schema": f"{schema}_{t}",
        }


def delete_streams(nats_url: str, names: Names) -> None:
    """Remove a test's streams (and their consumers) from the broker."""
    import nats
    from nats.js.errors import NotFoundError

    async def drop() -> None:
        nc = await nats.connect(nats_url, connect_timeout=3, max_reconnect_attempts=1)
        js = nc.jetstream()
        for name in (f"T{names.tag.upper()}", f"T{names.tag.upper()}_DEAD"):
            with contextlib.suppress(NotFoundError):
                await js.delete_stream(name)
        await nc.close()

    try:
        asyncio.run(drop())
    except Exception as exc:  # a broker the test stopped: nothing to clean
        print(f"streams of {names.tag} not deleted: {exc}")


def env_of(settings: Settings) -> dict[str, str]:
    """The environment that gives a CLI subprocess these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETLAKE_")}
    env["MARKETLAKE_CONFIG"] = os.environ.get("MARKETLAKE_CONFIG", "")
    env["MARKETLAKE_DATA_DIR"] = str(settings.data_dir)
    pg = settings.warehouse.postgres
    env.update(
        MARKETLAKE_WAREHOUSE__POSTGRES__HOST=pg.host,
        MARKETLAKE_WAREHOUSE__POSTGRES__PORT=str(pg.port),
        MARKETLAKE_WAREHOUSE__POSTGRES__USER=pg.user,
        MARKETLAKE_WAREHOUSE__POSTGRES__DBNAME=pg.dbname,
    )
    for key, value in settings.stream.model_dump().items():
        env[f"MARKETLAKE_STREAM__{key.upper()}"] = (
            json.dumps(value) if isinstance(value, list) else str(value)
        )
    return env


def cli(settings: Settings, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``marketlake ARGS`` as a user would, with these settings."""
    return subprocess.run(
        [sys.executable, "-m", "marketlake.cli.main", *args],
        env=env_of(settings),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_cli(settings: Settings, *args: str) -> subprocess.Popen[str]:
    """Start ``marketlake ARGS`` in the background."""
    return subprocess.Popen(
        [sys.executable, "-m", "marketlake.cli.main", *args],
        env=env_of(settings),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def walk(
    symbols: list[str], per_symbol: int, *, start: int = TS0, step: int = SECOND
) -> list[Tick]:
    """Deterministic trades, round robin over ``symbols``, several sessions long."""
    ticks = []
    for i in range(per_symbol):
        for k, symbol in enumerate(symbols):
            price = 100.0 + k * 10 + ((i * 7919 + k * 104729) % 2000) / 100
            ticks.append(Tick(symbol, start + i * step + k, round(price, 2), float(100 + i % 7)))
    return ticks


def publish_ticks(settings: Settings, ticks: Iterable[Tick]) -> int:
    """Publish and wait for the stream's acknowledgements; how many were stored."""
    return asyncio.run(publish(settings.stream, ticks)).stored


def run_consumer(settings: Settings, until: str = "once", **kw: Any) -> ConsumeReport:
    """Run the consumer in this process."""
    return asyncio.run(consume(settings, until=until, **kw))  # type: ignore[arg-type]


def connect(settings: Settings) -> psycopg.Connection:
    pg = settings.warehouse.postgres
    return psycopg.connect(host=pg.host, port=pg.port, user=pg.user, dbname=pg.dbname)


def values_table(settings: Settings) -> list[tuple[Any, ...]]:
    """Every row the consumer wrote, in key order, without its write-time columns."""
    s = settings.stream
    with connect(settings) as con:
        cols = [
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns where table_schema = %s "
                "and table_name = %s order by ordinal_position",
                [s.pg_schema, s.values_table],
            )
        ]
        keep = [c for c in cols if c not in ("stream_seq", "published_ns")]
        return con.execute(
            f'select {", ".join(keep)} from "{s.pg_schema}"."{s.values_table}" '
            "order by symbol, ts_ns, seq"
        ).fetchall()


def sessions_table(settings: Settings) -> list[tuple[Any, ...]]:
    s = settings.stream
    with connect(settings) as con:
        return con.execute(
            f'select * from "{s.pg_schema}"."{s.sessions_table}" order by symbol, session'
        ).fetchall()


def counts(settings: Settings) -> dict[str, int]:
    """The consumer's counts and last applied sequence, as committed."""
    s = settings.stream
    with connect(settings) as con:
        row = con.execute(
            "select last_stream_seq, applied, duplicate, late, malformed, redelivered "
            f'from "{s.pg_schema}"._consumer'
        ).fetchone()
    assert row is not None
    keys = ("last_stream_seq", "applied", "duplicate", "late", "malformed", "redelivered")
    return dict(zip(keys, row, strict=True))


def applied_seq(settings: Settings) -> int:
    try:
        return counts(settings)["last_stream_seq"]
    except (psycopg.Error, AssertionError):
        return 0


def wait_until(check: Any, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class NatsServer:
    """A nats-server with JetStream of the test's own: a free port, a store in ``store``."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        binary = NATS_SERVER if Path(NATS_SERVER).exists() else shutil.which("nats-server")
        if binary is None:
            raise RuntimeError("nats-server is not installed; run `scripts/services.sh nats`")
        self.binary = binary

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nats-server did not start on port {self.port}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
