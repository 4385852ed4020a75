"""Road networks: deployment data shared by every workspace, in a schema of its own.

An import writes a whole new version beside the active one (`status = 'building'`) and
switches in the same transaction, so a reader sees one complete version or the other. The
application role reads; only the owner (the import command) writes. Edges keep their
geometry and, per direction, a bit mask of the vehicle types allowed (bike 1, car 2,
van 4, truck 8); a direction with mask 0 is closed (a one-way street).

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

from alembic import op

from core.settings import get_settings

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    app = get_settings().db_app_role
    op.execute("CREATE SCHEMA roads")
    op.execute(
        """
        CREATE TABLE roads.networks (
            version integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name text NOT NULL,
            source_file text NOT NULL,
            source_sha256 text NOT NULL,
            status text NOT NULL DEFAULT 'building'
                CHECK (status IN ('building', 'active', 'retired')),
            edge_count integer NOT NULL DEFAULT 0,
            node_count integer NOT NULL DEFAULT 0,
            coverage geometry(Polygon, 4326),
            imported_at timestamptz NOT NULL DEFAULT now(),
            activated_at timestamptz
        )
        """
    )
    op.execute(
        "CREATE UNIQUE INDEX roads_networks_one_active ON roads.networks ((true))"
        " WHERE status = 'active'"
    )
    op.execute(
        """
        CREATE TABLE roads.edges (
            version integer NOT NULL REFERENCES roads.networks (version) ON DELETE CASCADE,
            id bigint NOT NULL,
            source bigint NOT NULL,
            target bigint NOT NULL,
            osm_way_id bigint NOT NULL,
            highway text NOT NULL,
            length_m double precision NOT NULL CHECK (length_m >= 0),
            speed_kmh real NOT NULL CHECK (speed_kmh > 0),
            forward_mask smallint NOT NULL,
            backward_mask smallint NOT NULL,
            geom geometry(LineString, 4326) NOT NULL,
            PRIMARY KEY (version, id)
        )
        """
    )
    op.execute(f"GRANT USAGE ON SCHEMA roads TO {app}")
    op.execute(f"GRANT SELECT ON roads.networks, roads.edges TO {app}")


def downgrade() -> None:
    op.execute("DROP SCHEMA roads CASCADE")
