"""Alembic environment: runs on the connection `storage.db.upgrade` passes in.

Run through `circles db upgrade` (or at `circles serve` start). SQLite uses
batch mode so that later migrations can alter tables.
"""

from __future__ import annotations

from alembic import context

from storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only through storage.db
    raise SystemExit("Run migrations with `circles db upgrade`.")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
