"""Alembic's environment and the state store's schema revisions (run by ``hub.state.migrate``)."""
