"""REST API of the annotator queue: next item, item, submit, skip. Same rules as the pages.

One thin APIView per operation; access through selectors (404 outside the user's queue),
writes through services. Pairwise values are in the item's orientation ("a" is response_a);
`answers` lists the two answers in the order this annotator should see them.
"""

import uuid
from typing import Annotated, Any

import msgspec
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.annotate import api_schema, selectors, services
from annotations.annotate.queue_sql import TokenAuthenticationPrepared
from annotations.annotate.rules import MAX_RATIONALE, LabelInput, Submission, SubmissionConflict
from annotations.annotate.sheet import Group, ItemSheet
from annotations.api_parsers import TOO_DEEP
from annotations.api_schema import AUTHENTICATED, errors
from annotations.errors import DomainError


def _group_data(group: Group, stored: dict) -> dict:
    criterion = group.criterion
    data = {
        "criterion": criterion.name,
        "step": group.step,
        "scale": criterion.scale,
        "value": stored.get(group.name),
    }
    if criterion.scale == "interval":
        data["min"], data["max"] = criterion.min_value, criterion.max_value
    else:
        data["labels"] = criterion.value_labels
        data["error_labels"] = criterion.error_labels
    return data


def sheet_data(sheet: ItemSheet) -> dict:
    """The annotator's view of an item as JSON: the item's text and their own answers only."""
    item, claim = sheet.item, sheet.claim
    url = reverse("api:assignment-detail", args=[claim.project_slug, item.pk])
    return {
        "item": item.pk,
        "kind": item.kind,
        "status": claim.status,
        "prompt": item.prompt,
        "response": item.response,
        "reference_answer": item.reference_answer,
        "answers": [{"side": a.side, "title": a.title, "text": a.text} for a in sheet.answers],
        "steps": [{"index": s.index, "text": s.text} for s in sheet.steps],
        "error_ends_solution": sheet.error_ends_solution,
        "questions": [_group_data(g, sheet.stored) for g in sheet.groups],
        "rationale": sheet.rationale,
        # The stored answers' version: send it back as `base_submission_id` to be refused
        # (409) rather than replace answers stored since by another client.
        "version": None if claim.submission_id is None else str(claim.submission_id),
        "url": url,
        # Submit and skip nest under the item's URL (api_urls.py); one reverse() is enough.
        "submit_url": url + "submit/",
        "skip_url": url + "skip/",
    }


# Token auth in one prepared statement, tried first (a scripted client sends a token; a
# browser has no Authorization header to check), so a call without credentials is a 401.
HOT_AUTHENTICATION = [TokenAuthenticationPrepared, SessionAuthentication]


def _json(data: dict) -> HttpResponse:
    # DRF's Response renders through a template response; the hot calls encode directly.
    return HttpResponse(msgspec.json.encode(data), content_type="application/json")


class AssignmentNextApi(APIView):
    """Claim (or resume) the user's next item; 204 when nothing is left for them."""

    authentication_classes = HOT_AUTHENTICATION
    renderer_classes = [JSONRenderer]
    prefetch = "next"  # token authentication also runs the engine's first read

    @extend_schema(
        request=None,
        responses={
            200: api_schema.ItemSheetOutput,
            204: OpenApiResponse(description="Nothing is left for you in this project."),
            **errors(*AUTHENTICATED, 400, 404),
        },
    )
    def post(self, request: Request, slug: str) -> HttpResponse:
        sheet = services.assignment_next(user=request.user, slug=slug, prefetched=request.auth)
        if sheet is None:
            return HttpResponse(status=204)
        return _json(sheet_data(sheet))


class AssignmentDetailApi(APIView):
    """An item of the user's queue (open or submitted), with their own answers."""

    authentication_classes = HOT_AUTHENTICATION

    @extend_schema(responses={200: api_schema.ItemSheetOutput, **errors(*AUTHENTICATED, 404)})
    def get(self, request: Request, slug: str, item_id: int) -> Response:
        assignment = selectors.assignment_get_for_annotator(
            user=request.user, slug=slug, item_id=item_id
        )
        return Response(sheet_data(selectors.item_sheet_get(assignment=assignment)))


class Label(msgspec.Struct):
    criterion: Annotated[str, msgspec.Meta(max_length=100)]
    value: Any
    step: int | None = None


class SubmitInput(msgspec.Struct):
    submission_id: uuid.UUID
    labels: Annotated[list[Label], msgspec.Meta(max_length=5000)]
    rationale: Annotated[str, msgspec.Meta(max_length=MAX_RATIONALE)] = ""
    time_spent_ms: Annotated[int, msgspec.Meta(ge=0)] = 0
    # Absent: the submission replaces whatever is stored (an edit); given (null: nothing
    # stored yet), the same conflict rule as the item page (`rules.submission_conflict`).
    base_submission_id: uuid.UUID | None | msgspec.UnsetType = msgspec.UNSET
    overwrite: uuid.UUID | None = None


def submit_input(request: Request) -> SubmitInput:
    """The submit body, decoded and checked in one pass by msgspec (DRF's nested serializers
    took about a third of a submit's CPU). Errors name the field, e.g. `$.labels[2].step`."""
    if request.content_type.split(";")[0].strip() != "application/json":
        raise UnsupportedMediaType(request.content_type)
    try:
        data = msgspec.json.decode(request.body, type=SubmitInput)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
        raise DomainError(f"Invalid submission: {exc}") from None
    except RecursionError:  # msgspec's limit on nesting (a label's value is Any)
        raise DomainError(f"Invalid submission: {TOO_DEEP}") from None
    if "\x00" in data.rationale:  # PostgreSQL text cannot hold it (DRF and forms refuse it too)
        raise DomainError("Invalid submission: `$.rationale` contains a NUL character")
    data.rationale = data.rationale.strip()  # as DRF's and Django's form fields do
    return data


def _conflict_response(exc: SubmissionConflict) -> HttpResponse:
    return HttpResponse(
        msgspec.json.encode(exc.as_data()), content_type="application/json", status=409
    )


class AssignmentSubmitApi(APIView):
    """Store the user's answers for an item of their queue: a JSON body with submission_id,
    labels ([{criterion, step, value}]), rationale and time_spent_ms."""

    authentication_classes = HOT_AUTHENTICATION
    renderer_classes = [JSONRenderer]
    prefetch = "submit"

    @extend_schema(
        request=api_schema.SubmitInput,
        responses={
            200: api_schema.SubmitOutput,
            409: OpenApiResponse(
                description="Other answers were stored since `base_submission_id`: "
                "`conflict` holds them and their `version`; resend with `overwrite` set to it."
            ),
            **errors(*AUTHENTICATED, 400, 404, 415),
        },
    )
    def post(self, request: Request, slug: str, item_id: int) -> HttpResponse:
        try:
            data = submit_input(request)
        except (DomainError, UnsupportedMediaType):
            # 404 outside the user's queue comes before any 400 about the body.
            selectors.assignment_get_for_annotator(user=request.user, slug=slug, item_id=item_id)
            raise
        submission = Submission(
            submission_id=data.submission_id,
            labels=[LabelInput(x.criterion, x.step, x.value) for x in data.labels],
            rationale=data.rationale,
            time_spent_ms=data.time_spent_ms,
            overwrite=data.overwrite,
            **(
                {}
                if data.base_submission_id is msgspec.UNSET
                else {"base": data.base_submission_id}
            ),
        )
        try:
            result = services.assignment_submit(
                user=request.user,
                slug=slug,
                item_id=item_id,
                submission=submission,
                prefetched=request.auth,
            )
        except SubmissionConflict as exc:
            return _conflict_response(exc)
        return _json(
            {
                "item": result.item_id,
                "status": result.status,
                "stored": result.stored,
                "repeated": result.repeated,
                "next_url": reverse("api:assignment-next", args=[slug]),
            }
        )


class AssignmentSkipApi(APIView):
    """Skip an open item (with a reason), or flag it as broken for the leads."""

    authentication_classes = HOT_AUTHENTICATION

    class Input(serializers.Serializer):
        class Meta:
            ref_name = "SkipInput"

        reason = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=MAX_RATIONALE
        )
        flag = serializers.BooleanField(required=False, default=False)

    @extend_schema(
        request=Input,
        responses={200: api_schema.SkipOutput, **errors(*AUTHENTICATED, 400, 404, 415)},
    )
    def post(self, request: Request, slug: str, item_id: int) -> Response:
        assignment = selectors.assignment_get_for_annotator(
            user=request.user, slug=slug, item_id=item_id
        )
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = services.assignment_skip(assignment=assignment, **data.validated_data)
        return Response(
            {
                "item": assignment.item_id,
                "status": assignment.status,
                "next_url": reverse("api:assignment-next", args=[assignment.project.slug]),
            }
        )
