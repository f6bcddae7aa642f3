"""Alembic environment for okrsync's state: runs on the connection the store hands over.

okrsync drives alembic from code (``okrsync.state.migrate``); there is no alembic.ini and
no URL here, so the migrations always run on the very database the store opened.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("okrsync migrations run through okrsync.state, not the alembic CLI")

context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
