"""REST API of the annotator queue: next item, item, submit, skip. Same rules as the pages.

One thin APIView per operation; access through selectors (404 outside the user's queue),
writes through services. Pairwise values are in the item's orientation ("a" is response_a);
`answers` lists the two answers in the order this annotator should see them.
"""

from django.db import connection
from django.http import Http404
from django.urls import reverse
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.annotate import hotpath, selectors, services
from annotations.annotate.selectors import Group, ItemSheet
from annotations.errors import DomainError
from annotations.models import Assignment


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
    item, assignment = sheet.item, sheet.assignment
    return {
        "item": item.pk,
        "external_id": item.external_id,
        "kind": item.kind,
        "status": assignment.status,
        "prompt": item.prompt,
        "response": item.response,
        "reference_answer": item.reference_answer,
        "answers": [{"side": a.side, "title": a.title, "text": a.text} for a in sheet.answers],
        "steps": [{"index": s.index, "text": s.text} for s in sheet.steps],
        "error_ends_solution": sheet.error_ends_solution,
        "questions": [_group_data(g, sheet.stored) for g in sheet.groups],
        "rationale": sheet.rationale,
        "url": reverse("api:assignment-detail", args=[assignment.project.slug, item.pk]),
        "submit_url": reverse("api:assignment-submit", args=[assignment.project.slug, item.pk]),
        "skip_url": reverse("api:assignment-skip", args=[assignment.project.slug, item.pk]),
    }


# The two calls every annotator makes per item: token auth in one prepared statement.
HOT_AUTHENTICATION = [SessionAuthentication, hotpath.TokenAuthenticationPrepared]


class AssignmentNextApi(APIView):
    """Claim (or resume) the user's next item; 204 when nothing is left for them."""

    authentication_classes = HOT_AUTHENTICATION

    def post(self, request: Request, slug: str) -> Response:
        if connection.vendor == "postgresql":
            result = hotpath.assignment_next_sheet(user=request.user, slug=slug)
            if result is None:
                return Response(status=204)
            if isinstance(result, ItemSheet):
                return Response(sheet_data(result))
            if result.project is None:
                raise Http404("No such project.")
            project = result.project
        else:
            project = selectors.membership_get_for_annotator(user=request.user, slug=slug).project
        assignment = services.assignment_next(user=request.user, project=project)
        if assignment is None:
            return Response(status=204)
        return Response(sheet_data(selectors.item_sheet_get(assignment=assignment)))


class AssignmentDetailApi(APIView):
    def get(self, request: Request, slug: str, item_id: int) -> Response:
        assignment = selectors.assignment_get_for_annotator(
            user=request.user, slug=slug, item_id=item_id
        )
        return Response(sheet_data(selectors.item_sheet_get(assignment=assignment)))


class AssignmentSubmitApi(APIView):
    authentication_classes = HOT_AUTHENTICATION

    class Label(serializers.Serializer):
        criterion = serializers.CharField(max_length=100)
        step = serializers.IntegerField(required=False, allow_null=True, default=None)
        value = serializers.JSONField()

    class Input(serializers.Serializer):
        submission_id = serializers.UUIDField()
        labels = serializers.ListField(max_length=5000)
        rationale = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=services.MAX_RATIONALE
        )
        time_spent_ms = serializers.IntegerField(required=False, min_value=0, default=0)

    def post(self, request: Request, slug: str, item_id: int) -> Response:
        if connection.vendor == "postgresql":
            result = self._post_fast(request, slug, item_id)
            if result is not None:
                return Response(_submitted(result.assignment, result.stored, result.repeated))
        assignment = selectors.assignment_get_for_annotator(
            user=request.user, slug=slug, item_id=item_id
        )
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        labels = self.Label(data=data.validated_data["labels"], many=True)
        labels.is_valid(raise_exception=True)
        criteria = {c.name: c.pk for c in selectors.project_criteria(project=assignment.project)}
        inputs = []
        for label in labels.validated_data:
            if label["criterion"] not in criteria:
                raise DomainError("A label names a criterion this item is not judged on.")
            inputs.append(
                services.LabelInput(criteria[label["criterion"]], label["step"], label["value"])
            )
        result = services.assignment_submit(
            assignment=assignment,
            labels=inputs,
            rationale=data.validated_data["rationale"],
            time_spent_ms=data.validated_data["time_spent_ms"],
            submission_id=data.validated_data["submission_id"],
        )
        return Response(_submitted(result.assignment, result.stored, result.repeated))

    def _post_fast(self, request: Request, slug: str, item_id: int) -> services.SubmitResult | None:
        """The PostgreSQL path; None leaves the request to the ORM path (which also answers
        404 before any 400 about the body)."""
        data = self.Input(data=request.data)
        if not data.is_valid():
            return None
        labels = self.Label(data=data.validated_data["labels"], many=True)
        if not labels.is_valid():
            return None
        return hotpath.assignment_submit(
            user=request.user,
            slug=slug,
            item_id=item_id,
            labels=[(x["criterion"], x["step"], x["value"]) for x in labels.validated_data],
            rationale=data.validated_data["rationale"],
            time_spent_ms=data.validated_data["time_spent_ms"],
            submission_id=data.validated_data["submission_id"],
        )


def _submitted(assignment: Assignment, stored: int, repeated: bool) -> dict:
    return {
        "item": assignment.item_id,
        "status": assignment.status,
        "stored": stored,
        "repeated": repeated,
        "next_url": reverse("api:assignment-next", args=[assignment.project.slug]),
    }


class AssignmentSkipApi(APIView):
    class Input(serializers.Serializer):
        reason = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=services.MAX_RATIONALE
        )
        flag = serializers.BooleanField(required=False, default=False)

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
