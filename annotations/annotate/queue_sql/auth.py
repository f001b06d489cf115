"""Token authentication in one prepared statement, which can also be the call's first read.

A view names the read it wants with `prefetch` ("next" or "submit"); authentication then
runs that read and the token lookup as one statement and hands the read's row to the view as
`request.auth` (a `Prefetched`), DRF's place for what authentication learnt. Both come from the
same statement, so the view never sees a row for a token that did not authenticate.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from psycopg import sql
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from annotations.annotate.queue_sql.db import fetch, text, user_fields


@dataclass(frozen=True)
class Prefetched:
    """A token and the row of the read its view asked for (None: the read found nothing)."""

    key: str
    read: str
    row: tuple | None


Read = Callable[[sql.Composable], sql.Composed]  # the read, given how to name the user's id


def by_token(read: Read) -> sql.Composed:
    """A read for one user as a statement keyed by their token that returns the user's
    columns first, then the read's (NULL when it finds nothing)."""
    return sql.SQL(
        "SELECT {user_columns}, r.* FROM authtoken_token t JOIN auth_user u ON u.id = t.user_id"
        " LEFT JOIN LATERAL ({read}) r ON true WHERE t.key = %(key)s"
    ).format(user_columns=user_fields()[1], read=read(sql.Identifier("u", "id")))


_READS: dict[str, Read] = {}


def register_read(name: str, read: Read) -> None:
    """Make `read` (an engine's first read) available to views as `prefetch = name`."""
    _READS[name] = read


@cache
def _statement(name: str | None) -> str:
    if name is None:
        return text(
            sql.SQL(
                "SELECT {user_columns} FROM authtoken_token t JOIN auth_user u"
                " ON u.id = t.user_id WHERE t.key = %(key)s"
            ).format(user_columns=user_fields()[1])
        )
    return text(by_token(_READS[name]))


class TokenAuthenticationPrepared(TokenAuthentication):
    """DRF's token authentication in one prepared statement on PostgreSQL (the ORM version
    spent more time building its query than PostgreSQL spent running it)."""

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, Token] | None:
        self.context = request.parser_context or {}  # authenticators are made per request
        return super().authenticate(request)

    def authenticate_credentials(self, key: str) -> tuple[AbstractBaseUser, object]:
        user_model = get_user_model()
        if connection.vendor != "postgresql" or user_model._meta.db_table != "auth_user":
            return super().authenticate_credentials(key)
        read = getattr(self.context.get("view"), "prefetch", None)
        params = {} if read is None else self.context.get("kwargs", {})
        rows = fetch(_statement(read), {**params, "key": key})
        if not rows:
            raise AuthenticationFailed("Invalid token.")
        fields = user_fields()[0]
        user = user_model.from_db(connection.alias, fields, rows[0][: len(fields)])
        if not user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        if read is None:
            return user, Token(key=key, user=user)
        row = rows[0][len(fields) :]
        return user, Prefetched(key, read, None if row[0] is None else row)
