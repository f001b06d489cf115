"""What the OpenAPI schema says beyond what drf-spectacular reads from the views: the error
bodies every endpoint may answer with, and the two token schemes it cannot guess.

The views stay plain `APIView`s; each names its request and responses with `extend_schema`,
and `errors(...)` adds the error answers, so the schema lists every status a call can get.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorOutput(serializers.Serializer):
    """Every error: `detail` says what went wrong; a refused submission or batch also lists
    one line per problem in `errors`. A form-like input (an import, a report, a skip) answers a
    400 with one list of messages per field instead, e.g. `{"n_boot": ["..."]}`."""

    detail = serializers.CharField(required=False)
    errors = serializers.ListField(child=serializers.CharField(), required=False)


_WHAT = {
    400: "The body or a parameter is not valid (`detail`, or a list of messages per field).",
    401: "No credentials, or a token that is not valid (`WWW-Authenticate` names the scheme).",
    403: "Authenticated, but not allowed: e.g. the call is for the project's leads.",
    404: "No such project, item or job, or not one this user may see.",
    413: "The body is too large.",
    415: "The body is not JSON.",
    429: "Too many requests; retry after the `Retry-After` seconds.",
    503: "A background job could not be queued; try again shortly.",
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """The error responses of an operation, for `extend_schema(responses=...)`."""
    return {code: OpenApiResponse(ErrorOutput, description=_WHAT[code]) for code in codes}


# Every authenticated call may also be throttled; a call that queues a job may find the broker
# down.
AUTHENTICATED = (401, 429)


class PreparedTokenScheme(OpenApiAuthenticationExtension):
    """The annotator queue's token authentication: the same `Token <key>` header as DRF's
    (drf-spectacular names a scheme per class, so it needs a name of its own)."""

    target_class = "annotations.annotate.queue_sql.auth.TokenAuthenticationPrepared"
    name = "queueTokenAuth"

    def get_security_definition(self, auto_schema):  # noqa: ANN001, ANN201
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`: make a key on the *API tokens* page.",
        }


class RaterTokenScheme(OpenApiAuthenticationExtension):
    """External judges: a model rater's key as a bearer token."""

    target_class = "annotations.judges.api.RaterTokenAuthentication"
    name = "raterKey"

    def get_security_definition(self, auto_schema):  # noqa: ANN001, ANN201
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A model rater's key (a lead makes it on the Model judges page).",
        }
