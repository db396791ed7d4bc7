"""web: trigram index for full-text search of messages, recent-first conversations index

Revision ID: 7a1d3c5e9b21
Revises: 68c399ac5726
Create Date: 2026-11-23 17:05:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7a1d3c5e9b21"
down_revision: str | None = "68c399ac5726"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Lets "text ILIKE '%router%'" (the inbox search) use an index instead of a scan.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # On SQLite the trigram index cannot exist; "WHERE 0" keeps it empty there (see models).
    op.create_index(
        "ix_messages_text_trgm",
        "messages",
        ["text"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"text": "gin_trgm_ops"},
        sqlite_where=sa.text("0"),
    )
    op.create_index(
        "ix_conversations_recent",
        "conversations",
        ["workspace_id", "last_message_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_conversations_recent", table_name="conversations")
    op.drop_index("ix_messages_text_trgm", table_name="messages")
