"""Backups and restore of gridpilot's database (#20): SQLite online backup, PostgreSQL
``pg_dump``/``pg_restore``, a manifest per backup, a daily scheduled backup with retention.
See docs/operations.md."""
