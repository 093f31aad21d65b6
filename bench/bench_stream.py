"""Benchmark: streaming moving averages, NATS JetStream -> PostgreSQL, on loopback.

marketlake: ``marketlake stream consume`` in its own process (batches pulled by one request of
``batch_max``, state updated in Python, rows COPYed into a temporary table and upserted once per
batch, ``AckAll`` after the commit), fed by the stream producer (every publish confirmed by the
stream, a window of 10,000 in flight) from this process.

- **end to end**: ``--ticks`` synthetic trades over ``--symbols`` symbols published at full
  speed while the consumer runs; ticks/s = ticks / (first publish -> the commit that holds the
  last tick).
- **drain**: the same number of ticks already in the stream, consumed by a fresh consumer:
  the consumer's own capacity.
- **latency**: ``--rate`` ticks/s for ``--seconds``, each stamped with its publish time; a
  probe process LISTENs on the sink's NOTIFY channel (delivered at commit) and a tick's latency
  is the arrival of the notification of the batch holding it minus its publish stamp.
  p50/p99/max.
- **baseline**: what a straightforward consumer does: nats-py ``fetch(100)``, then per message
  the same state update and one ``insert ... on conflict do update`` (plus state and progress)
  committed and acknowledged per tick (``--baseline-ticks`` ticks).

    uv run python bench/bench_stream.py [--ticks 500000] [--symbols 50] [--rate 10000]
        [--seconds 10] [--baseline-ticks 20000] [--nats nats://127.0.0.1:4222]

Needs NATS with JetStream and PostgreSQL (scripts/services.sh all). Everything it creates
(streams, consumers, a database) has a unique name and is deleted at the end. Prints the
figures and ratios; append the RESULT lines to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg

from marketlake.config import Settings, load_settings
from marketlake.stream import broker
from marketlake.stream.processor import Processor
from marketlake.stream.producer import publish, synthetic_ticks
from marketlake.stream.sink import Sink, channel, table

ROOT = Path(__file__).resolve().parents[1]


def names(tag: str) -> dict[str, str]:
    """Environment of one run: its own streams, subjects, durable and database."""
    return {
        "MARKETLAKE_STREAM__STREAM_NAME": f"BENCH_{tag}",
        "MARKETLAKE_STREAM__SUBJECT_PREFIX": f"bench{tag}.ticks",
        "MARKETLAKE_STREAM__DURABLE": f"bench{tag}",
        "MARKETLAKE_STREAM__DEAD_STREAM": f"BENCH_{tag}_DEAD",
        "MARKETLAKE_STREAM__DEAD_SUBJECT": f"bench{tag}.dead",
        "MARKETLAKE_STREAM__LATE_SUBJECT": f"bench{tag}.late",
        "MARKETLAKE_STREAM__UNIT": "bar",
        "MARKETLAKE_WAREHOUSE__POSTGRES__DBNAME": f"ml_bench_{tag.lower()}",
    }


def settings_of(env: dict[str, str], nats: str) -> Settings:
    os.environ.update(env)
    os.environ["MARKETLAKE_STREAM__NATS_URL"] = nats
    return load_settings()


def symbols(n: int) -> list[str]:
    return [f"S{i:03d}" for i in range(n)]


def start_consumer(env: dict[str, str]) -> subprocess.Popen[bytes]:
    full = {**os.environ, **env}
    return subprocess.Popen(
        [sys.executable, "-m", "marketlake.cli.main", "stream", "consume", "--until-idle"],
        env=full,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def applied(settings: Settings) -> int:
    """The last stream sequence the live tables hold (0 before the first commit)."""
    pg = settings.warehouse.postgres
    try:
        with psycopg.connect(host=pg.host, port=pg.port, user=pg.user, dbname=pg.dbname) as con:
            row = con.execute(
                f"select last_stream_seq from {table(settings.stream, '_consumer')}"
            ).fetchone()
    except psycopg.Error:
        return 0
    return int(row[0]) if row else 0


def wait_ready(settings: Settings, proc: subprocess.Popen[bytes], settle: float = 0.5) -> None:
    """Until the consumer process has created its tables (and, ``settle`` later, its durable)."""
    pg = settings.warehouse.postgres
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError(proc.stdout.read().decode() if proc.stdout else "consumer died")
        try:
            with psycopg.connect(host=pg.host, port=pg.port, user=pg.user, dbname=pg.dbname) as con:
                if con.execute(f"select 1 from {table(settings.stream, '_consumer')}").fetchone():
                    time.sleep(settle)  # the durable is created right after
                    return
        except psycopg.Error:
            pass
        time.sleep(0.05)
    raise RuntimeError("consumer did not start")


def wait_applied(settings: Settings, target: int, timeout: float = 600) -> float:
    """Until the live tables hold stream sequence ``target``; the time it happened."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if applied(settings) >= target:
            return time.monotonic()
        time.sleep(0.01)
    raise RuntimeError(f"sequence {target} not applied in {timeout} s")


def run_end_to_end(env: dict[str, str], nats: str, ticks: int, n_symbols: int) -> float:
    settings = settings_of(env, nats)
    proc = start_consumer(env)
    try:
        wait_ready(settings, proc)
        t0 = time.monotonic()
        report = asyncio.run(
            publish(settings.stream, synthetic_ticks(symbols(n_symbols), count=ticks))
        )
        done = wait_applied(settings, report.stored)
        return ticks / (done - t0)
    finally:
        proc.terminate()
        proc.wait(30)


def run_drain(env: dict[str, str], nats: str, ticks: int, n_symbols: int) -> float:
    settings = settings_of(env, nats)
    asyncio.run(publish(settings.stream, synthetic_ticks(symbols(n_symbols), count=ticks)))
    proc = start_consumer(env)
    try:
        wait_ready(settings, proc, settle=0)  # from its first pull (not its imports) ...
        t0 = time.monotonic()
        wait_applied(settings, ticks, timeout=900)  # ... to the commit of the last tick
        return ticks / (time.monotonic() - t0)
    finally:
        proc.terminate()
        proc.wait(30)


def probe(dsn: str, listen: str, out: str, last: int) -> None:
    """The latency probe, in its own process (so the producer never delays its clock): write
    ``first last received_ns`` per notification until the one holding sequence ``last``."""
    with psycopg.connect(dsn, autocommit=True) as con, open(out, "w") as sink:
        con.execute(f"listen {listen}")
        print("ready", flush=True)
        seen = 0
        while seen < last:
            for note in con.notifies(timeout=1.0):
                now = time.time_ns()
                body = json.loads(note.payload)
                sink.write(f"{body['first']} {body['last']} {now}\n")
                seen = max(seen, body["last"])


def run_latency(env: dict[str, str], nats: str, rate: float, seconds: float, n: int) -> list[float]:
    settings = settings_of(env, nats)
    pg = settings.warehouse.postgres
    dsn = f"host={pg.host} port={pg.port} user={pg.user} dbname={pg.dbname}"
    count = int(rate * seconds)
    out = Path(f"/tmp/bench_stream_probe_{os.getpid()}.txt")
    proc = start_consumer(env)
    try:
        wait_ready(settings, proc)
        prober = subprocess.Popen(
            [sys.executable, __file__, "--probe", dsn, channel(settings.stream), str(out),
             str(count)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert prober.stdout is not None
        prober.stdout.readline()  # "ready": listening
        asyncio.run(publish(settings.stream, synthetic_ticks(symbols(n), count=count), rate=rate))
        prober.wait(120)
    finally:
        proc.terminate()
        proc.wait(30)
    seen = [tuple(int(x) for x in line.split()) for line in out.read_text().splitlines()]
    out.unlink()
    with psycopg.connect(dsn) as con:
        published = dict(
            con.execute(
                f"select stream_seq, published_ns from "
                f"{table(settings.stream, settings.stream.values_table)}"
            ).fetchall()
        )
    latencies = []
    for first, last, at in seen:
        for seq in range(first, last + 1):
            if seq in published:
                latencies.append((at - published[seq]) / 1e6)
    return sorted(latencies)


def run_baseline(env: dict[str, str], nats: str, ticks: int, n_symbols: int) -> float:
    settings = settings_of(env, nats)
    asyncio.run(publish(settings.stream, synthetic_ticks(symbols(n_symbols), count=ticks)))
    return asyncio.run(_baseline(settings, ticks))


async def _baseline(settings: Settings, ticks: int) -> float:
    """Per tick: state update, one upsert of its row, state and progress, commit, ack."""
    from nats.js.api import AckPolicy, ConsumerConfig

    s = settings.stream
    sink = Sink(settings.warehouse.postgres, s)
    sink.open()
    sink.bind(s.stream_name, None)
    con = sink.con
    assert con is not None
    st = sink._statements  # the same tables and SQL, one row at a time
    values = ", ".join(["%s"] * len(st.value_cols))
    row_insert = (
        f"insert into {table(s, s.values_table)} ({', '.join(st.value_cols)}, ts_event) "
        f"values ({values}, to_timestamp(%s::double precision / 1e9)) "
        "on conflict (symbol, ts_ns, seq) do update set price = excluded.price"
    )
    nc = await broker.connect(s)
    js = nc.jetstream()
    sub = await js.pull_subscribe(
        f"{s.subject_prefix}.>",
        durable=f"{s.durable}_baseline",
        stream=s.stream_name,
        config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT),
    )
    processor = Processor(s, {}, 0)
    done, t0 = 0, time.monotonic()
    while done < ticks:
        for msg in await sub.fetch(100, timeout=5):
            batch = processor.apply([msg])
            processor.settle(batch, set())
            with con.transaction():
                for row in batch.values:
                    con.execute(row_insert, [*row, row[1]])
                for state_row in batch.state_rows:
                    con.execute(
                        f"insert into {table(s, '_state')} values (%s, %s, %s, %s, %s, %s) "
                        "on conflict (symbol) do update set state = excluded.state",
                        state_row,
                    )
                con.execute(st.progress, [batch.last_seq, 1, 0, 0, 0, 0])
            await msg.ack()
            done += 1
    rate = done / (time.monotonic() - t0)
    await nc.close()
    sink.close()
    return rate


def cleanup(env: dict[str, str], nats: str) -> None:
    settings = settings_of(env, nats)

    async def drop() -> None:
        nc = await broker.connect(settings.stream)
        js = nc.jetstream()
        for name in (settings.stream.stream_name, settings.stream.dead_stream):
            try:
                await js.delete_stream(name)
            except Exception as exc:
                print(f"  (could not delete stream {name}: {exc})")
        await nc.close()

    asyncio.run(drop())
    pg = settings.warehouse.postgres
    with psycopg.connect(
        host=pg.host, port=pg.port, user=pg.user, dbname="postgres", autocommit=True
    ) as con:
        con.execute(f'drop database if exists "{pg.dbname}" with (force)')


def main() -> None:
    if sys.argv[1:2] == ["--probe"]:
        probe(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ticks", type=int, default=500_000)
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--rate", type=float, default=10_000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--baseline-ticks", type=int, default=20_000)
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument("--only", choices=["e2e", "drain", "latency", "baseline"], action="append")
    args = parser.parse_args()
    parts = args.only or ["e2e", "drain", "latency", "baseline"]
    results: dict[str, float] = {}
    for part in parts:
        env = names(uuid.uuid4().hex[:8].upper())
        try:
            if part == "e2e":
                results["e2e"] = run_end_to_end(env, args.nats, args.ticks, args.symbols)
                print(f"end to end: {args.ticks:,} ticks, {results['e2e']:,.0f} ticks/s")
            elif part == "drain":
                results["drain"] = run_drain(env, args.nats, args.ticks, args.symbols)
                print(f"drain: {args.ticks:,} ticks, {results['drain']:,.0f} ticks/s")
            elif part == "latency":
                lat = run_latency(env, args.nats, args.rate, args.seconds, args.symbols)
                p50, p99 = lat[len(lat) // 2], lat[int(len(lat) * 0.99)]
                results.update(p50=p50, p99=p99)
                print(
                    f"latency at {args.rate:,.0f} ticks/s for {args.seconds:.0f} s "
                    f"({len(lat):,} ticks): p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
                    f"max {lat[-1]:.1f} ms"
                )
            else:
                results["baseline"] = run_baseline(
                    env, args.nats, args.baseline_ticks, args.symbols
                )
                print(
                    f"baseline (fetch(100), one upsert + commit + ack per tick): "
                    f"{args.baseline_ticks:,} ticks, {results['baseline']:,.0f} ticks/s"
                )
        finally:
            cleanup(env, args.nats)
    base = results.get("baseline")
    if base:
        for key in ("e2e", "drain"):
            if key in results:
                print(f"RESULT {key}: {results[key]:,.0f} ticks/s = {results[key] / base:.1f}x "
                      f"the baseline's {base:,.0f} ticks/s")  # fmt: skip


if __name__ == "__main__":
    main()
