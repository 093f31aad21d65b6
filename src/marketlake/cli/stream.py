"""``marketlake stream``: ticks through NATS JetStream into live moving averages in PostgreSQL."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from marketlake.cli import state

if TYPE_CHECKING:
    from collections.abc import Iterator

    from marketlake.config import Settings
    from marketlake.stream.messages import Tick

stream_app = typer.Typer(
    help="Live moving averages: ticks through NATS JetStream into PostgreSQL.",
    no_args_is_help=True,
)

SPEED = re.compile(r"^(\d+(?:\.\d+)?)x$")
RATE = re.compile(r"^(\d+(?:\.\d+)?)(?:/s)?$")


class Interval(StrEnum):
    """What silver data a replay publishes."""

    day = "1d"
    minute = "1m"
    trades = "trades"


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    match = SPEED.match(text)
    if not match or float(match.group(1)) <= 0:
        raise typer.BadParameter("use e.g. 100x (100 times real time) or max", param_hint="--speed")
    return float(match.group(1))


def _rate(text: str | None) -> float | None:
    if text is None:
        return None
    match = RATE.match(text)
    if not match or float(match.group(1)) <= 0:
        raise typer.BadParameter("use ticks per second, e.g. 5000 or 5000/s", param_hint="--rate")
    return float(match.group(1))


def _symbols(text: str) -> list[str]:
    from marketlake.stream.messages import SYMBOL

    symbols = [s.strip() for s in text.split(",") if s.strip()]
    bad = [s for s in symbols if not SYMBOL.match(s)]
    if not symbols or bad:
        raise typer.BadParameter(
            f"not symbols: {', '.join(bad) or text!r}", param_hint="SYMBOLS (comma-separated)"
        )
    return symbols


def produce(
    *,
    from_silver: Annotated[
        str | None,
        typer.Option("--from-silver", metavar="SYMBOLS", help="Replay these symbols' silver data."),
    ] = None,
    synthetic: Annotated[
        bool, typer.Option("--synthetic", help="Publish a generated random-walk trade feed.")
    ] = False,
    interval: Annotated[
        Interval, typer.Option("--interval", help="Replay daily bars, minute bars or trades.")
    ] = Interval.day,
    speed: Annotated[
        str, typer.Option("--speed", help="Replay 100x faster than the data's own time, or max.")
    ] = "max",
    start: Annotated[
        datetime | None, typer.Option("--from", formats=["%Y-%m-%d"], help="First day replayed.")
    ] = None,
    end: Annotated[
        datetime | None,
        typer.Option("--to", formats=["%Y-%m-%d"], help="Last day replayed (included)."),
    ] = None,
    symbols: Annotated[
        str, typer.Option("--symbols", help="Synthetic feed: its symbols, comma-separated.")
    ] = "SYN1,SYN2,SYN3",
    rate: Annotated[
        str | None, typer.Option("--rate", help="Synthetic feed: ticks per second (N or N/s).")
    ] = None,
    count: Annotated[
        int | None,
        typer.Option("--count", min=1, help="Synthetic feed: ticks in all (default: endless)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Synthetic feed: seed of prices.")] = 0,
) -> None:
    """Publish ticks to the stream: a replay of silver, or a synthetic feed.

    Each symbol's ticks keep their order; every tick is confirmed by the stream. Publishing
    the same ticks again is harmless: the consumer counts them as duplicates.
    """
    import asyncio

    from marketlake.stream.producer import publish, synthetic_ticks

    if synthetic == (from_silver is not None):
        raise typer.BadParameter("give either --from-silver SYMBOLS or --synthetic")
    pace_speed, pace_rate = (_speed(speed), None) if from_silver else (None, _rate(rate))
    settings = state.settings()
    ticks: Iterator[Tick]
    if from_silver is not None:
        ticks = _silver_ticks(settings, _symbols(from_silver), interval, start, end)
    else:
        ticks = synthetic_ticks(_symbols(symbols), count=count, seed=seed)
    console = state.console()
    report = asyncio.run(publish(settings.stream, ticks, speed=pace_speed, rate=pace_rate))
    rate_s = report.published / report.seconds if report.seconds else 0.0
    console.print(
        f"published {report.published:,} ticks of {len(report.symbols)} symbol(s) to "
        f"{settings.stream.stream_name} in {report.seconds:.1f} s ({rate_s:,.0f}/s), "
        f"{report.stored:,} stored",
        markup=False,
    )


def _silver_ticks(
    settings: Settings,
    symbols: list[str],
    interval: Interval,
    start: datetime | None,
    end: datetime | None,
) -> Iterator[Tick]:
    from marketlake.errors import ConfigError
    from marketlake.lake.bronze import read_manifest
    from marketlake.lake.store import open_lake
    from marketlake.serve.loader import read_bars, read_trades
    from marketlake.stream.replay import bar_ticks, latest_bars, trade_ticks

    first = start.date() if start else None
    last = end.date() if end else None
    if interval is Interval.trades:
        frame = read_trades(symbols, first, last, settings=settings)
    else:
        frame = read_bars(symbols, first, last, interval=interval.value, settings=settings)
    if frame.is_empty():
        raise ConfigError(
            f"silver has no {interval.value} data of {', '.join(symbols)} in that range",
            hint="ingest some first (marketlake ingest ...), or check --interval/--from/--to",
        )
    if interval is Interval.trades:
        return trade_ticks(frame)
    landed = {e.ingest_id: _ns(e.landed_at) for e in read_manifest(open_lake(settings))}
    return bar_ticks(latest_bars(frame, landed))


def _ns(iso: str) -> int:
    from datetime import UTC, timedelta

    moment = datetime.fromisoformat(iso)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 1000


def consume(
    *,
    once: Annotated[
        bool, typer.Option("--once", help="Apply what the stream holds now, then stop.")
    ] = False,
    until_idle: Annotated[
        bool,
        typer.Option("--until-idle", help="Stop when no tick came for stream.idle_s seconds."),
    ] = False,
    reset: Annotated[
        bool,
        typer.Option("--reset", help="Drop the live tables and recompute them from the stream."),
    ] = False,
) -> None:
    """Run the durable consumer: SMA/EMA/VWAP per symbol, committed to PostgreSQL.

    A message is acknowledged only after its effect is committed; a restart continues exactly
    where the last commit left off. Ctrl-C or SIGTERM stop it cleanly.
    """
    import asyncio
    import signal

    from marketlake.stream.consumer import Consumer, ConsumeReport, Until

    if once and until_idle:
        raise typer.BadParameter("give --once or --until-idle, not both")
    settings = state.settings()
    until: Until = "once" if once else "idle" if until_idle else "forever"
    consumer = Consumer(settings, until=until, reset=reset)
    console = state.console()
    last = [0.0]

    def progress(report: ConsumeReport) -> None:
        if until == "forever" and report.seconds - last[0] >= 10:
            last[0] = report.seconds
            console.print(_summary(report), markup=False)

    consumer.on_progress = progress

    async def main() -> ConsumeReport:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, consumer.stop.set)
        return await consumer.run()

    s = settings.stream
    console.print(
        f"consuming {s.stream_name} ({s.subject_prefix}.>) as {s.durable} into "
        f"{s.pg_schema}.{s.values_table} ({s.unit} periods; SMA {s.windows}, EMA {s.ema_spans})",
        markup=False,
    )
    report = asyncio.run(main())
    console.print(_summary(report), markup=False)


def _summary(report: Any) -> str:
    c = report.counts
    return (
        f"applied {c['applied']:,} ticks in {report.batches:,} batches ({report.rate:,.0f}/s) "
        f"up to stream sequence {report.last_stream_seq:,}; late {c['late']:,}, duplicate "
        f"{c['duplicate']:,}, malformed {c['malformed']:,} (dead-lettered), redelivered "
        f"{c['redelivered']:,} (skipped)"
    )


def status() -> None:
    """The streams, the consumer's lag, and the counts PostgreSQL holds."""
    import asyncio

    from rich.table import Table

    from marketlake.stream.status import read_status

    settings = state.settings()
    found = asyncio.run(read_status(settings))
    console = state.console()
    table = Table(title="marketlake stream", show_header=True)
    table.add_column("part")
    table.add_column("state")
    for label, st in (("ticks stream", found.ticks), ("dead letters", found.dead)):
        table.add_row(
            label,
            "not created yet"
            if st is None
            else f"{st.name}: {st.messages:,} messages ({st.bytes / 1e6:,.1f} MB), "
            f"sequences {st.first_seq:,}..{st.last_seq:,}",
        )
    consumer = found.consumer
    table.add_row(
        f"consumer {settings.stream.durable}",
        "not created yet"
        if consumer is None
        else f"lag {consumer['pending']:,} undelivered + {consumer['ack_pending']:,} "
        f"unacknowledged; delivered up to {consumer['delivered']:,}, "
        f"acknowledged up to {consumer['ack_floor']:,}",
    )
    if found.applied_seq is None:
        table.add_row("PostgreSQL", "nothing consumed yet")
    else:
        c = found.counts
        behind = (found.ticks.last_seq - found.applied_seq) if found.ticks else 0
        table.add_row(
            f"PostgreSQL {settings.stream.pg_schema}",
            f"applied up to {found.applied_seq:,} ({max(behind, 0):,} behind), "
            f"{found.symbols:,} symbols, last commit {found.updated_at}",
        )
        table.add_row(
            "counts",
            f"applied {c['applied']:,}, late {c['late']:,}, duplicate {c['duplicate']:,}, "
            f"malformed {c['malformed']:,}, redelivered {c['redelivered']:,}",
        )
        table.add_row("computed with", ", ".join(f"{k} {v}" for k, v in found.config.items()))
    console.print(table)


stream_app.command()(produce)
stream_app.command()(consume)
stream_app.command()(status)
