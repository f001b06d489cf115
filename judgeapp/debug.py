"""What a debug error page may show: settings and request values, less anything secret.

Django hides settings whose *name* looks secret (PASSWORD, TOKEN, KEY, ...) but shows
`CELERY_BROKER_URL` and `CACHE_URL` whole, passwords included, and runserver copies the
process environment into every request's META. This filter also hides any value that is a URL
with credentials (`scheme://user:password@host`), whatever its name.
"""

from typing import Any
from urllib.parse import urlsplit

from django.views.debug import SafeExceptionReporterFilter


def has_credentials(value: object) -> bool:
    """Whether `value` is a URL that carries a user name or password."""
    if not isinstance(value, str) or "@" not in value or "://" not in value:
        return False
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return True  # an unparseable URL with an @ in it: hide rather than guess
    return bool(parts.username or parts.password)


class CredentialsHidingFilter(SafeExceptionReporterFilter):
    """Django's filter, plus: a URL with credentials is hidden wherever it appears."""

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        if has_credentials(value):
            return self.cleansed_substitute
        return super().cleanse_setting(key, value)
