"""Streaming moving averages: ticks from NATS JetStream, indicators kept in PostgreSQL.

- :mod:`~marketlake.stream.messages`: the tick message, its subject and its checks.
- :mod:`~marketlake.stream.state`: the O(1) incremental SMA / EMA / VWAP of one symbol.
- :mod:`~marketlake.stream.sessions`: the session date of a tick.
- :mod:`~marketlake.stream.processor`: which ticks are applied, late, duplicate or dead.
- :mod:`~marketlake.stream.sink`: the live tables and the per-batch transaction.
- :mod:`~marketlake.stream.broker`: connection, streams, the durable consumer, fast pulls.
- :mod:`~marketlake.stream.consumer` / :mod:`~marketlake.stream.producer`: the two programs.
- :mod:`~marketlake.stream.replay`: silver bars and trades as ticks.
- :mod:`~marketlake.stream.status`: what ``marketlake stream status`` shows.

Nothing here imports nats, psycopg or polars at import time.
"""
