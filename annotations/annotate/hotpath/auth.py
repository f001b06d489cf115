"""Token authentication in one prepared statement."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from annotations.annotate.hotpath.db import fetch

_USER_BY_KEY = (
    "SELECT {columns} FROM authtoken_token t JOIN auth_user u ON u.id = t.user_id "
    "WHERE t.key = %(key)s"
)


class TokenAuthenticationPrepared(TokenAuthentication):
    """DRF's token authentication in one prepared statement on PostgreSQL (the ORM version
    spent more time building its query than PostgreSQL spent running it)."""

    def authenticate_credentials(self, key: str) -> tuple[AbstractBaseUser, Token]:
        user_model = get_user_model()
        if connection.vendor != "postgresql" or user_model._meta.db_table != "auth_user":
            return super().authenticate_credentials(key)
        fields = [f.attname for f in user_model._meta.concrete_fields]
        columns = ", ".join(f"u.{user_model._meta.get_field(f).column}" for f in fields)
        rows = fetch(_USER_BY_KEY.format(columns=columns), {"key": key})
        if not rows:
            raise AuthenticationFailed("Invalid token.")
        user = user_model.from_db(connection.alias, fields, rows[0])
        if not user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        return user, Token(key=key, user=user)
