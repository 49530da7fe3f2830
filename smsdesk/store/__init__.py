"""Persistence: the ``Store`` interface (base.py), its SQL implementation (sql.py) and the schema (tables.py)."""
