"""The machine's servers the tests talk to: PostgreSQL and NATS (JetStream).

PostgreSQL is 127.0.0.1:5432 as ``postgres`` (``MARKETLAKE_TEST_PG_HOST`` / ``_PORT`` /
``_USER``), NATS 127.0.0.1:4222 (``MARKETLAKE_TEST_NATS_HOST`` / ``_PORT``), both started by
``scripts/services.sh all`` when the machine has none. A missing server fails the test with that
instruction; it is never skipped. Each test module works in a database of its own.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

SETUP = "start it with `scripts/services.sh all` (installs and starts PostgreSQL and NATS)"


@dataclass(frozen=True)
class PgServer:
    """Where the test server is (trust or password-less login for ``user``)."""

    host: str
    port: int
    user: str

    def settings(self, dbname: str, **extra: object) -> dict[str, object]:
        """``warehouse.postgres`` settings of a database on this server."""
        return {"host": self.host, "port": self.port, "user": self.user, "dbname": dbname, **extra}

    def admin(self) -> psycopg.Connection:
        """An autocommit connection to the ``postgres`` database."""
        con = psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname="postgres", connect_timeout=5
        )
        con.autocommit = True
        return con


def pg_from_env() -> PgServer:
    """The PostgreSQL server the tests are told to use (not checked)."""
    return PgServer(
        host=os.environ.get("MARKETLAKE_TEST_PG_HOST", "127.0.0.1"),
        port=int(os.environ.get("MARKETLAKE_TEST_PG_PORT", "5432")),
        user=os.environ.get("MARKETLAKE_TEST_PG_USER", "postgres"),
    )


def pg_server() -> PgServer:
    """The PostgreSQL server of the tests, checked to answer (else the test fails)."""
    server = pg_from_env()
    try:
        server.admin().close()
    except psycopg.OperationalError as exc:
        detail = str(exc).strip().splitlines()[-1]
        pytest.fail(
            f"PostgreSQL is not reachable at {server.host}:{server.port} as {server.user} "
            f"({detail}); {SETUP}",
            pytrace=False,
        )
    return server


def new_database(server: PgServer, prefix: str = "ml_test") -> Iterator[str]:
    """A new, empty, uniquely named database; dropped when the generator is closed."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    con = server.admin()
    con.execute(f'create database "{name}"')
    try:
        yield name
    finally:
        con.execute(f'drop database if exists "{name}" with (force)')
        con.close()


def nats_url() -> str:
    """The URL of the machine's NATS server, checked to answer (else the test fails)."""
    host = os.environ.get("MARKETLAKE_TEST_NATS_HOST", "127.0.0.1")
    port = int(os.environ.get("MARKETLAKE_TEST_NATS_PORT", "4222"))
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        pytest.fail(f"NATS is not reachable at {host}:{port} ({exc}); {SETUP}", pytrace=False)
    return f"nats://{host}:{port}"
