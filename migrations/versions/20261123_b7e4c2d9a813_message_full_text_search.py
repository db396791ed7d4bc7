"""search: full-text index over message text (SQLite FTS5, PostgreSQL tsvector), inbox indexes

Word/prefix search replaces the trigram substring index: on SQLite an external-content FTS5
table kept in step with ``messages`` by triggers; on PostgreSQL a GIN index over
``to_tsvector('simple', text)``. Both tokenise on Unicode letters/marks/digits, so Danish,
Hindi, Urdu and Telugu words are found as well as English ones.

Revision ID: b7e4c2d9a813
Revises: 7a1d3c5e9b21
Create Date: 2026-11-23 19:40:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b7e4c2d9a813"
down_revision: str | None = "7a1d3c5e9b21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = (
    # remove_diacritics 2: "café" finds "cafe" and back; unicode61 keeps combining marks inside
    # a token, so Devanagari/Telugu words stay whole.
    "CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='id',"
    " tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN"
    " INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN"
    " INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);"
    " END",
    "CREATE TRIGGER messages_fts_au AFTER UPDATE OF text ON messages BEGIN"
    " INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);"
    " INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); END",
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
)

WIDER = {
    "ix_conversations_assignee": ["assignee_id", "status", "last_message_at", "workspace_id"],
    "ix_conversations_team": ["team_id", "status", "last_message_at", "workspace_id"],
    "ix_conversations_sla_due": ["workspace_id", "sla_due_at", "status", "last_message_at"],
}
NARROWER = {
    "ix_conversations_assignee": ["assignee_id", "status"],
    "ix_conversations_team": ["team_id", "status"],
    "ix_conversations_sla_due": ["workspace_id", "sla_due_at"],
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_messages_text_trgm")
        op.execute(
            "CREATE INDEX ix_messages_text_tsv ON messages USING gin (to_tsvector('simple', text))"
        )
    else:
        op.execute("DROP INDEX IF EXISTS ix_messages_text_trgm")
        for statement in SQLITE_UP:
            op.execute(statement)
    # Inbox queues at a million conversations: each queue's page ids (and its capped count)
    # come from one index alone, sorted by recency inside it; only the 50 shown rows are read.
    for name, columns in WIDER.items():
        op.drop_index(name, table_name="conversations")
        op.create_index(name, "conversations", columns, unique=False)
    # Open queues by kind ("sales leads") without walking every open conversation.
    op.create_index(
        "ix_conversations_kind",
        "conversations",
        ["workspace_id", "kind", "status", "last_message_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_conversations_kind", table_name="conversations")
    for name, columns in NARROWER.items():
        op.drop_index(name, table_name="conversations")
        op.create_index(name, "conversations", columns, unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_messages_text_tsv")
        op.execute("CREATE INDEX ix_messages_text_trgm ON messages USING gin (text gin_trgm_ops)")
    else:
        for name in ("messages_fts_ai", "messages_fts_ad", "messages_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS messages_fts")
        op.execute("CREATE INDEX ix_messages_text_trgm ON messages (text) WHERE 0")
