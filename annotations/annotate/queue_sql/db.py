"""What the SQL engine's statements share: composing and running them, reading criteria."""

import json
from functools import cache
from typing import Any

import psycopg
from django.contrib.auth import get_user_model
from django.db import connection
from psycopg import sql

from annotations.models import Criterion

# The project's criteria in order, as one JSON array, for a statement with `p` the project.
CRITERIA = sql.SQL("""(
    SELECT coalesce(json_agg(json_build_array(
        c.id, c.name, c.target, c.scale, c.labels, c.min_value, c.max_value, c.error_labels,
        c.position
    ) ORDER BY c.position, c.id), '[]')
    FROM annotations_criterion c WHERE c.project_id = p.id
)""")


def text(statement: sql.Composable) -> str:
    """A composed statement as text (identifiers quoted by psycopg, values left as
    placeholders), made once per statement so the server's prepared statement is reused."""
    return statement.as_string(None)


def fetch(statement: str, params: dict[str, Any]) -> list[tuple]:
    """Run one statement as a server-side prepared statement and return its rows.

    Django's psycopg cursors bind parameters on the client, so every statement is parsed and
    planned again; planning these took about as long as running them. The raw cursor shares
    the connection, so Django's autocommit and transaction state apply unchanged. Without
    DATABASE_PREPARED_STATEMENTS (settings) psycopg runs it unprepared, which works the same.
    """
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(statement, params, prepare=True)
        return cursor.fetchall()


@cache
def user_fields() -> tuple[list[str], sql.Composable]:
    """The user model's attribute names and their columns as `u.<column>, ...`."""
    model = get_user_model()
    fields = [f.attname for f in model._meta.concrete_fields]
    columns = sql.SQL(", ").join(
        sql.Identifier("u", model._meta.get_field(f).column) for f in fields
    )
    return fields, columns


def criteria_from_rows(rows: list, project_id: int) -> list[Criterion]:
    """The criteria of a CRITERIA column, as complete model instances."""
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
            position=position,
        )
        for pk, name, target, scale, labels, low, high, error_labels, position in rows
    ]


def json_value(value: Any) -> Any:
    # psycopg decodes json columns already; a text value means a driver that does not.
    return json.loads(value) if isinstance(value, str) else value
