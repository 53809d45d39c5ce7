"""Alembic environment: runs migrations on the URL set by ``db.migrate`` (or alembic.ini)."""

from alembic import context

from dmptui.host.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def run() -> None:
    url = config.get_main_option("sqlalchemy.url")
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
