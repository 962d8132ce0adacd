"""MQTT ingest (dead letters, ingest workers).

Adds ``ingest_rejects.site_id`` (site of the resolved asset, for site-scoped listing) and
``api_keys.mqtt_password_hash`` (Mosquitto PBKDF2-SHA512 hash of a device key's secret, for
``gridpilot mqtt-auth export``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ingest_rejects") as batch:
        batch.add_column(sa.Column("site_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_ingest_rejects_site_id_sites", "sites", ["site_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index("ix_ingest_rejects_site_id", ["site_id"])
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("mqtt_password_hash", sa.String(300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("mqtt_password_hash")
    with op.batch_alter_table("ingest_rejects") as batch:
        batch.drop_index("ix_ingest_rejects_site_id")
        batch.drop_constraint("fk_ingest_rejects_site_id_sites", type_="foreignkey")
        batch.drop_column("site_id")
