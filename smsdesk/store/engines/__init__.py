"""Dialect differences, one small module per engine (SQLite, PostgreSQL)."""
