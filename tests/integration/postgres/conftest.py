"""Fixtures of the PostgreSQL warehouse tests: the machine's server, a fresh database per module.

The server is the one on 127.0.0.1:5432 (or ``MARKETLAKE_TEST_PG_HOST`` / ``_PORT`` / ``_USER``),
started by ``scripts/services.sh postgres`` when the machine has none. A missing server fails the
tests with that instruction; they are never skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

SETUP = "start one with `scripts/services.sh postgres` (installs and starts PostgreSQL)"


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


def _server() -> PgServer:
    return PgServer(
        host=os.environ.get("MARKETLAKE_TEST_PG_HOST", "127.0.0.1"),
        port=int(os.environ.get("MARKETLAKE_TEST_PG_PORT", "5432")),
        user=os.environ.get("MARKETLAKE_TEST_PG_USER", "postgres"),
    )


@pytest.fixture(scope="session")
def pg_server() -> PgServer:
    """The PostgreSQL server of the tests; fails (never skips) when it does not answer."""
    server = _server()
    try:
        con = server.admin()
    except psycopg.OperationalError as exc:
        detail = str(exc).strip().splitlines()[-1]
        pytest.fail(
            f"PostgreSQL is not reachable at {server.host}:{server.port} as {server.user} "
            f"({detail}); {SETUP}",
            pytrace=False,
        )
    con.close()
    return server


@pytest.fixture(scope="module")
def fresh_db(pg_server: PgServer) -> Iterator[str]:
    """A new, empty database for the module, dropped at its end."""
    yield from new_database(pg_server)


def new_database(server: PgServer) -> Iterator[str]:
    """Create a uniquely named database; drop it when the generator is closed."""
    name = f"ml_test_{uuid.uuid4().hex[:10]}"
    con = server.admin()
    con.execute(f'create database "{name}"')
    try:
        yield name
    finally:
        con.execute(f'drop database if exists "{name}" with (force)')
        con.close()
