"""Alembic's environment and the state store's schema revisions (run by ``hub.state.migrate``).

A change to the schema is a new module in ``versions/`` (``script.py.mako`` is its template)
whose ``down_revision`` is the newest one's, with its own copy of what it creates (never
``hub.state.schema``'s tables, which move on), the same change in ``hub.state.schema``, and
``HEAD`` there set to its revision; use batch operations for what SQLite cannot alter in place.
"""
