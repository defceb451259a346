"""Initial node schema: studies, series, instances, API tokens, sealed re-id links.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UID = sa.String(64)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "studies",
        sa.Column("study_instance_uid", UID, primary_key=True),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("patient_name", sa.String(324), nullable=False),
        sa.Column("patient_birth_date", sa.String(8), nullable=False),
        sa.Column("patient_sex", sa.String(16), nullable=False),
        sa.Column("study_date", sa.String(8), nullable=False),
        sa.Column("study_time", sa.String(16), nullable=False),
        sa.Column("accession_number", sa.String(16), nullable=False),
        sa.Column("study_id", sa.String(16), nullable=False),
        sa.Column("study_description", sa.String(64), nullable=False),
        sa.Column("referring_physician_name", sa.String(324), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_studies_patient_id", "studies", ["patient_id"])
    op.create_index("ix_studies_study_date", "studies", ["study_date"])
    op.create_table(
        "series",
        sa.Column("series_instance_uid", UID, primary_key=True),
        sa.Column(
            "study_instance_uid",
            UID,
            sa.ForeignKey("studies.study_instance_uid"),
            nullable=False,
        ),
        sa.Column("modality", sa.String(16), nullable=False),
        sa.Column("series_number", sa.Integer, nullable=True),
        sa.Column("series_description", sa.String(64), nullable=False),
        sa.Column("body_part_examined", sa.String(16), nullable=False),
        sa.Column("performed_procedure_step_start_date", sa.String(8), nullable=False),
        sa.Column("frame_of_reference_uid", UID, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_series_study_instance_uid", "series", ["study_instance_uid"])
    op.create_index("ix_series_modality", "series", ["modality"])
    op.create_table(
        "instances",
        sa.Column("sop_instance_uid", UID, primary_key=True),
        sa.Column(
            "series_instance_uid",
            UID,
            sa.ForeignKey("series.series_instance_uid"),
            nullable=False,
        ),
        sa.Column("study_instance_uid", UID, nullable=False),
        sa.Column("sop_class_uid", UID, nullable=False),
        sa.Column("transfer_syntax_uid", UID, nullable=False),
        sa.Column("instance_number", sa.Integer, nullable=True),
        sa.Column("rows", sa.Integer, nullable=True),
        sa.Column("columns", sa.Integer, nullable=True),
        sa.Column("bits_allocated", sa.Integer, nullable=True),
        sa.Column("number_of_frames", sa.Integer, nullable=True),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("source", sa.String(256), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("quarantine_reason", sa.Text, nullable=True),
        sa.Column("released_at", TS, nullable=True),
        sa.Column("released_by", sa.String(128), nullable=True),
    )
    op.create_index("ix_instances_series_instance_uid", "instances", ["series_instance_uid"])
    op.create_index("ix_instances_study_instance_uid", "instances", ["study_instance_uid"])
    op.create_index("ix_instances_content_sha256", "instances", ["content_sha256"])
    op.create_index(
        "ix_instances_series_number", "instances", ["series_instance_uid", "instance_number"]
    )
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("scopes", sa.String(256), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=True),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.UniqueConstraint("secret_sha256"),
    )
    op.create_table(
        "reidentification_links",
        sa.Column("link_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("patient_pseudonym", sa.String(64), nullable=False),
        sa.Column("study_instance_uid", UID, nullable=False),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("patient_pseudonym", "study_instance_uid"),
    )
    op.create_index(
        "ix_reidentification_links_patient_pseudonym",
        "reidentification_links",
        ["patient_pseudonym"],
    )


def downgrade() -> None:
    op.drop_table("reidentification_links")
    op.drop_table("api_tokens")
    op.drop_table("instances")
    op.drop_table("series")
    op.drop_table("studies")
