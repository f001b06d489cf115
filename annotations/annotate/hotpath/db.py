"""What the fast path's statements share: running a prepared statement, reading criteria."""

import json
from typing import Any

import psycopg
from django.db import connection

from annotations.models import Criterion

CRITERIA = """(
    SELECT coalesce(json_agg(json_build_array(
        c.id, c.name, c.target, c.scale, c.labels, c.min_value, c.max_value, c.error_labels
    ) ORDER BY c.position, c.id), '[]')
    FROM annotations_criterion c WHERE c.project_id = p.id
)"""


def fetch(sql: str, params: dict[str, Any]) -> list[tuple]:
    """Run one statement as a server-side prepared statement and return its rows.

    Django's psycopg cursors bind parameters on the client, so every statement is parsed and
    planned again; planning these took about as long as running them. The raw cursor shares
    the connection, so Django's autocommit and transaction state apply unchanged. Without
    DATABASE_PREPARED_STATEMENTS (settings) psycopg runs it unprepared, which works the same.
    """
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall()


def criteria_from_rows(rows: list, project_id: int) -> list[Criterion]:
    return [
        Criterion(
            id=pk,
            project_id=project_id,
            name=name,
            target=target,
            scale=scale,
            labels=labels,
            min_value=low,
            max_value=high,
            error_labels=error_labels,
        )
        for pk, name, target, scale, labels, low, high, error_labels in rows
    ]


def json_value(value: Any) -> Any:
    # psycopg decodes json columns already; a text value means a driver that does not.
    return json.loads(value) if isinstance(value, str) else value
