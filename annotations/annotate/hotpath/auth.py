"""Token authentication in one prepared statement, which can also be the view's first read."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from annotations.annotate.hotpath.db import fetch

_USER_BY_KEY = (
    "SELECT {user_columns} FROM authtoken_token t JOIN auth_user u ON u.id = t.user_id "
    "WHERE t.key = %(key)s"
)


def by_token(read: str) -> str:
    """A read for one user (`%(user)s`) as a statement keyed by their token that returns the
    user's columns first: authentication and the view's read in one round trip. The read's
    columns are NULL when it finds nothing (`LEFT JOIN LATERAL`)."""
    return (
        "SELECT {user_columns}, r.* FROM authtoken_token t JOIN auth_user u ON u.id = t.user_id"
        f" LEFT JOIN LATERAL ({read.replace('%(user)s', 'u.id')}) r ON true"
        " WHERE t.key = %(key)s"
    )


class TokenAuthenticationPrepared(TokenAuthentication):
    """DRF's token authentication in one prepared statement on PostgreSQL (the ORM version
    spent more time building its query than PostgreSQL spent running it).

    A view with a `token_read` statement (made by `by_token`, taking the URL's arguments) gets
    the rest of that statement's row as `view.token_read_row`, so the next item and submit
    calls make one statement fewer. Both the user and that row come from the same statement,
    so the view never sees a row for a token that did not authenticate.
    """

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, Token] | None:
        self.context = request.parser_context or {}  # authenticators are made per request
        return super().authenticate(request)

    def authenticate_credentials(self, key: str) -> tuple[AbstractBaseUser, Token]:
        user_model = get_user_model()
        if connection.vendor != "postgresql" or user_model._meta.db_table != "auth_user":
            return super().authenticate_credentials(key)
        fields = [f.attname for f in user_model._meta.concrete_fields]
        columns = ", ".join(f"u.{user_model._meta.get_field(f).column}" for f in fields)
        view = self.context.get("view")
        read = getattr(view, "token_read", None)
        sql, params = (_USER_BY_KEY, {}) if read is None else (read, self.context["kwargs"])
        rows = fetch(sql.replace("{user_columns}", columns), {**params, "key": key})
        if not rows:
            raise AuthenticationFailed("Invalid token.")
        user = user_model.from_db(connection.alias, fields, rows[0][: len(fields)])
        if not user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        if read is not None:
            view.token_read_row = rows[0][len(fields) :]
        return user, Token(key=key, user=user)
