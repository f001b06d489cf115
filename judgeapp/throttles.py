"""API throttles whose rates are read from settings.API_THROTTLE_RATES at request time.

DRF's own throttles take their rates from REST_FRAMEWORK when the module is imported, so a
test could not turn them on or off; these read them per request. A scope whose rate is None
is not throttled.
"""

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class SettingsRateMixin:
    scope: str

    def get_rate(self) -> str | None:
        return settings.API_THROTTLE_RATES.get(self.scope)


class AnonThrottle(SettingsRateMixin, AnonRateThrottle):
    """Requests without a user, by client address."""

    scope = "anon"


class UserBurstThrottle(SettingsRateMixin, UserRateThrottle):
    """Each signed-in user's (or token's) requests per second: far above what a person
    annotating or a lead's script needs, far below a scraper's or a runaway loop's."""

    scope = "user"
