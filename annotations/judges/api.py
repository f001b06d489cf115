"""REST for external judges: a model rater's token posts its judgements and scores in bulk.

The token authenticates as the rater, not as a user: `request.user` stays anonymous and
`request.auth` is the `RaterToken`. Only this endpoint accepts it (every other endpoint keeps
the default session and user-token authentication, which ignore a Bearer key), and this
endpoint accepts nothing else, so no user session or user token can post as a rater.
"""

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import APIException, AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.api_parsers import JSONParser
from annotations.api_schema import errors
from annotations.errors import DomainError
from annotations.judges import external, selectors
from annotations.judges.tokens import RaterToken

# 10,000 judgements with a rationale of a couple of kilobytes each, and room to spare.
MAX_BODY_BYTES = 32 * 1024 * 1024


class RaterTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <key>`: the rater whose token has this key."""

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[AnonymousUser, RaterToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Send the key as: Authorization: Bearer <key>.")
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("Unknown key.") from None
        token = external.rater_token_authenticate(key=key)
        if token is None:
            raise AuthenticationFailed("Unknown key.")
        return AnonymousUser(), token

    def authenticate_header(self, request: Request) -> str:
        # Present, so that a request without a key is answered 401, not 403.
        return 'Bearer realm="api"'


class HasRaterToken(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.auth, RaterToken)


class PayloadTooLarge(APIException):
    status_code = 413
    default_detail = f"The body is larger than {MAX_BODY_BYTES // 2**20} MiB; split the batch."
    default_code = "payload_too_large"


def _content_length(request: Request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # Django reads no body then either


def _error_lines(errors: dict) -> list[str]:
    """A serializer's errors in the words of the body: `batch_id: This field is required.`"""
    return [
        f"{'body' if name == 'non_field_errors' else name}: {message}"
        for name, messages in errors.items()
        for message in messages
    ]


class JudgementBulkApi(APIView):
    """Post a model rater's judgements and scores, all or nothing (see the README's External
    judges); 201 when stored, 200 when the batch id was used before (nothing written)."""

    authentication_classes = [RaterTokenAuthentication]
    permission_classes = [HasRaterToken]
    parser_classes = [JSONParser]

    class Input(serializers.Serializer):
        class Meta:
            ref_name = "JudgementBulkInput"

        batch_id = serializers.CharField(min_length=1, max_length=100, trim_whitespace=False)
        judgements = serializers.ListField(required=False, max_length=external.MAX_ENTRIES)
        scores = serializers.ListField(required=False, max_length=external.MAX_ENTRIES)

        def validate(self, data: dict) -> dict:
            n = len(data.get("judgements", [])) + len(data.get("scores", []))
            if n == 0:
                raise serializers.ValidationError("Send at least one judgement or score.")
            if n > external.MAX_ENTRIES:
                limit = f"At most {external.MAX_ENTRIES:,} judgements and scores together."
                raise serializers.ValidationError(limit)
            return data

    class Output(serializers.Serializer):
        class Meta:
            ref_name = "JudgementBulkOutput"

        batch_id = serializers.CharField()
        created = serializers.IntegerField()
        unchanged = serializers.IntegerField()
        repeated = serializers.BooleanField()

    @extend_schema(
        request=Input,
        responses={200: Output, 201: Output, **errors(400, 401, 404, 413, 415, 429)},
    )
    def post(self, request: Request, slug: str) -> Response:
        rater = selectors.rater_get_for_token(token=request.auth, slug=slug)
        if _content_length(request) > MAX_BODY_BYTES:
            raise PayloadTooLarge()
        data = self.Input(data=request.data)
        if not data.is_valid():
            raise DomainError("The request is not valid.", _error_lines(data.errors))
        result = external.judgements_bulk_record(
            rater=rater,
            batch_id=data.validated_data["batch_id"],
            judgements=data.validated_data.get("judgements", []),
            scores=data.validated_data.get("scores", []),
        )
        return Response(self.Output(result).data, status=200 if result.repeated else 201)
