"""Persistence: SQLModel tables, the async engine, the unit of work, Alembic migrations."""
