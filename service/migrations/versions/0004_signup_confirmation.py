"""sign-up confirmation: users.awaiting_confirmation

Expand-only: the server default (false) means every existing account, and every account the
previous release creates during a rolling deployment, stays able to log in; only this release's
sign-ups set it (issue 23). A constant default, so SQLite adds the column in place.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "awaiting_confirmation", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("awaiting_confirmation")
