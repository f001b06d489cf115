"""Faults for the drills: a broker that does not answer (a closed port, the real Redis client)."""

from collections.abc import Iterator
from contextlib import contextmanager

CLOSED_PORT_BROKER = "redis://127.0.0.1:1/0"  # port 1: nothing listens, the connect is refused


def _reset_pools(app) -> None:
    # Celery caches its connection and producer pools on first use: drop them so the next
    # send connects to the broker URL in force now (kombu keeps one pool per URL).
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def broker_down() -> Iterator[None]:
    """Celery not eager, its broker a closed port: every send fails as in an outage."""
    from judgeapp.celery import app

    # Sends use the write URL, which Celery resolved from CELERY_BROKER_URL at start.
    saved = (app.conf.task_always_eager, app.conf.broker_write_url)
    _reset_pools(app)
    app.conf.task_always_eager = False
    app.conf.broker_write_url = CLOSED_PORT_BROKER
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.broker_write_url = saved
        _reset_pools(app)
