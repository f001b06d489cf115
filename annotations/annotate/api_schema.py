"""The annotator API's bodies as serializers, for the OpenAPI schema only.

Next, item and submit answer with JSON encoded directly (`api.sheet_data`, msgspec) and the
submit body is decoded by msgspec (`api.SubmitInput`): DRF's serializers cost too much CPU on
the hot path. These serializers describe those bodies; `tests/test_api_schema.py` checks real
answers of both queue engines against the schema made from them, so the two cannot drift.
"""

from rest_framework import serializers

from annotations.annotate.rules import MAX_RATIONALE
from annotations.models import Assignment, Criterion, Item


class AnswerOutput(serializers.Serializer):
    side = serializers.ChoiceField(choices=["a", "b"], help_text="The answer's side in the item.")
    title = serializers.CharField(help_text="How the page titles it (shown order: 1, 2).")
    text = serializers.CharField(allow_blank=True)


class StepOutput(serializers.Serializer):
    index = serializers.IntegerField(min_value=0)
    text = serializers.CharField(allow_blank=True)


class QuestionOutput(serializers.Serializer):
    criterion = serializers.CharField()
    step = serializers.IntegerField(allow_null=True, help_text="0-based; null for the item.")
    scale = serializers.ChoiceField(choices=Criterion.Scale.choices)
    # Any JSON value (null included): allow_null would make it oneOf [null, any], never valid.
    value = serializers.JSONField(help_text="Your stored answer, or null.")
    labels = serializers.ListField(
        child=serializers.JSONField(), required=False, help_text="Not for interval criteria."
    )
    error_labels = serializers.ListField(child=serializers.JSONField(), required=False)
    min = serializers.FloatField(required=False, help_text="Interval criteria only.")
    max = serializers.FloatField(required=False, help_text="Interval criteria only.")


class ItemSheetOutput(serializers.Serializer):
    """An item of the annotator's queue: its text and their own answers, nothing else (no
    external id, meta, model or colleague judgements)."""

    item = serializers.IntegerField(help_text="The item's number; the id in every URL.")
    kind = serializers.ChoiceField(choices=Item.Kind.choices)
    status = serializers.ChoiceField(choices=Assignment.Status.choices)
    prompt = serializers.CharField(allow_blank=True)
    response = serializers.CharField(allow_null=True, allow_blank=True)
    reference_answer = serializers.CharField(allow_null=True, allow_blank=True)
    answers = AnswerOutput(many=True, help_text="A pair's answers in the order to show them.")
    steps = StepOutput(many=True)
    error_ends_solution = serializers.BooleanField()
    questions = QuestionOutput(many=True)
    rationale = serializers.CharField(allow_blank=True)
    version = serializers.UUIDField(
        allow_null=True, help_text="The stored answers' version (null: none stored)."
    )
    url = serializers.CharField()
    submit_url = serializers.CharField()
    skip_url = serializers.CharField()


class LabelInput(serializers.Serializer):
    criterion = serializers.CharField(max_length=100)
    step = serializers.IntegerField(required=False, allow_null=True)
    value = serializers.JSONField(help_text="One of the question's labels, or a number.")


class SubmitInput(serializers.Serializer):
    submission_id = serializers.UUIDField(help_text="New per submission; a retry reuses it.")
    labels = LabelInput(many=True, max_length=5000)
    rationale = serializers.CharField(required=False, allow_blank=True, max_length=MAX_RATIONALE)
    time_spent_ms = serializers.IntegerField(required=False, min_value=0)
    base_submission_id = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="The `version` the answers were made against (null: none stored); when "
        "other answers were stored since, the submit is refused with 409. Absent: replace.",
    )
    overwrite = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="After a 409: the stored `version` you choose to replace.",
    )


class SubmitOutput(serializers.Serializer):
    item = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Assignment.Status.choices)
    stored = serializers.IntegerField(help_text="Judgements stored.")
    repeated = serializers.BooleanField(help_text="This submission id was seen: nothing new.")
    next_url = serializers.CharField()


class SkipOutput(serializers.Serializer):
    item = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Assignment.Status.choices)
    next_url = serializers.CharField()
