"""The PostgreSQL pool survives connections the server dropped (restart, idle timeout)."""

from __future__ import annotations

from sqlalchemy import text

from caredesk.kit.db import make_engine
from tests.conftest import PG_URL


def test_a_connection_the_server_dropped_is_replaced_before_the_next_statement():
    engine = make_engine(PG_URL)
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        # Back in the pool; the server now ends that backend, as a restart would.
        with make_engine(PG_URL).connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    finally:
        engine.dispose()
