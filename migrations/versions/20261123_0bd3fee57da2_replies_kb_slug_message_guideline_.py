"""replies: kb article slug, message guideline override

Revision ID: 0bd3fee57da2
Revises: e0df43c8746e
Create Date: 2026-11-23 14:28:12.745361+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0bd3fee57da2"
down_revision: str | None = "e0df43c8746e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slug", sa.String(length=120), nullable=True))
        batch_op.create_index(
            "uq_kb_articles_workspace_slug", ["workspace_id", "slug"], unique=True
        )

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "guideline_override",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("guideline_override")

    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.drop_index("uq_kb_articles_workspace_slug")
        batch_op.drop_column("slug")
