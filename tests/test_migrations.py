"""Migrations build the schema from empty on both databases, and match the models."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from caredesk.kit.db import Base, make_engine
from caredesk.kit.migrate import upgrade
from tests.conftest import PG_URL, require_postgres


def _fresh_url(backend: str, tmp_path: Path) -> tuple[str, object]:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}", None
    admin = require_postgres()
    name = f"caredesk_migr_{uuid.uuid4().hex[:8]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return PG_URL.rsplit("/", 1)[0] + f"/{name}", (admin, name)


def _drop(cleanup: object) -> None:
    if cleanup is None:
        return
    admin, name = cleanup  # type: ignore[misc]
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# Full-text search objects made by raw DDL in migration b7e4c2d9a813, not by the models: the
# FTS5 table and its shadow tables (messages_fts_data, _idx, _docsize, _config) and the
# PostgreSQL expression index.
UNMODELLED = ("messages_fts", "ix_messages_text_tsv")


def _modelled(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    return not (name or "").startswith(UNMODELLED)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_migrations_upgrade_from_empty_and_match_the_models(backend: str, tmp_path: Path) -> None:
    url, cleanup = _fresh_url(backend, tmp_path)
    try:
        upgrade(url)
        engine = make_engine(url)
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            assert set(Base.metadata.tables) <= tables
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": _modelled}
            )
            diff = compare_metadata(context, Base.metadata)
        engine.dispose()
        assert diff == [], f"models and migrations differ: {diff}"
        upgrade(url)  # a second run is a no-op
    finally:
        _drop(cleanup)
