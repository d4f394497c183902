"""The two database engines behind `Database`: SQLite (embedded, the default) and PostgreSQL (shared)."""
