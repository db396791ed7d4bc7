"""Column types shared by all tables."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from sqlalchemy import JSON, BigInteger, Dialect, Integer, String, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import mapped_column

from caredesk.kit import secretbox
from caredesk.kit.db import UTCDateTime

# BIGINT on PostgreSQL; INTEGER on SQLite so it aliases the rowid and autoincrements.
BigId = BigInteger().with_variant(Integer(), "sqlite")
JsonType = JSON().with_variant(JSONB(), "postgresql")


class SealedJson(TypeDecorator[dict[str, Any]]):
    """A JSON object stored sealed (see :mod:`caredesk.kit.secretbox`); plain in Python."""

    impl = JsonType
    cache_ok = True

    def process_bind_param(self, value: dict[str, Any] | None, dialect: Dialect) -> Any:
        return None if value is None else secretbox.seal(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> dict[str, Any] | None:
        return None if value is None else secretbox.unseal(value)


PK = Annotated[int, mapped_column(BigId, primary_key=True, autoincrement=True)]
UTC = Annotated[datetime, mapped_column(UTCDateTime())]
UTCOpt = Annotated[datetime | None, mapped_column(UTCDateTime(), nullable=True)]
Json = Annotated[dict[str, Any], mapped_column(JsonType, default=dict)]
SealedJsonCol = Annotated[dict[str, Any], mapped_column(SealedJson(), default=dict)]
JsonList = Annotated[list[Any], mapped_column(JsonType, default=list)]
Str40 = Annotated[str, mapped_column(String(40))]
Str200 = Annotated[str, mapped_column(String(200))]


def fk_id(target: str, *, nullable: bool = False, ondelete: str | None = None) -> Any:
    from sqlalchemy import ForeignKey

    return mapped_column(
        BigId, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=True
    )
