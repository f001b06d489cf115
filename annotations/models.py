"""What was judged and who judged it.

A Project holds Criteria (what is judged), Items (what is judged: solutions with Steps,
responses, pairs), Raters (people and models) and Judgements: one row per rater, target and
criterion, enforced by the database. Step judgements are rows, never a JSON blob per item, so
step statistics are queries.
"""

import json

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Mod
from django.db.models.lookups import GreaterThanOrEqual

PAIRWISE_LABELS = ["a", "b", "tie"]
SCATTER_MULTIPLIER = 2_654_435_761  # the odd integer nearest 2**32 / golden ratio (Knuth)
SCATTER_SPAN = 2**32  # scatter values lie in 0 .. SCATTER_SPAN - 1


def _pair_swapped() -> GreaterThanOrEqual:
    """Whether an annotator sees a pair's answer B first: a hash of (user, item), 50/50.

    One definition, computed by the database on every insert, so neither queue engine states
    it. Plain integer arithmetic that SQLite and PostgreSQL evaluate alike: Fibonacci hashes
    of both ids, added, then a multiplicative mix of the sum's halves (sums alone would make
    two annotators' sides correlate by the distance of their hashes). Over 200 annotators x
    3,000 items, each annotator sees 48-52% of pairs swapped, and two annotators agree on the
    side order of 45-54% of the items (binomial noise: sd 0.9%). Every product stays below
    2**63.
    """
    span = SCATTER_SPAN
    # `%`, not Mod(): SQLite's MOD() returns a float, which would make `/` divide exactly.
    summed = (F("item_id") * SCATTER_MULTIPLIER % span + F("user_id") * 2_246_822_519 % span) % span
    mixed = summed / 65536 * (summed % 65536) % span
    return GreaterThanOrEqual((mixed + summed) % span * 1_597_334_677 % span, span // 2)


class Project(models.Model):
    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    guidelines = models.TextField(blank=True, help_text="Markdown, shown to annotators.")
    overlap = models.PositiveSmallIntegerField(
        default=1, help_text="How many annotators judge each item (k)."
    )
    error_ends_solution = models.BooleanField(
        default=False,
        help_text="A step marked with an error label ends the solution: later steps need no label.",
    )
    # App annotators' judgements go into their own group unless a lead says otherwise, so a
    # few test labels never mix into an imported (published) expert group by accident.
    annotator_group = models.CharField(
        max_length=64,
        default="annotators",
        help_text="The rater group new annotators' judgements go into.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(overlap__gte=1), name="project_overlap_positive")
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        LEAD = "lead", "Lead"
        ANNOTATOR = "annotator", "Annotator"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ANNOTATOR)
    # Copied to the user's Rater when it is created; a lead's move changes both at once
    # (`annotate.services.annotator_group_move`), since reports read the group from the Rater.
    rater_group = models.CharField(
        max_length=64, default="annotators", help_text="The group this user's judgements go under."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "project"], name="membership_unique_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} ({self.role})"


class Criterion(models.Model):
    class Target(models.TextChoices):
        STEP = "step", "Each step"
        ITEM = "item", "The whole item"

    class Scale(models.TextChoices):
        NOMINAL = "nominal", "Nominal"
        ORDINAL = "ordinal", "Ordinal"
        INTERVAL = "interval", "Interval"
        PAIRWISE = "pairwise", "Pairwise (a, b, tie)"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="criteria")
    name = models.CharField(max_length=100)
    target = models.CharField(max_length=8, choices=Target.choices)
    scale = models.CharField(max_length=16, choices=Scale.choices)
    labels = models.JSONField(default=list, blank=True, help_text="Ordered JSON scalars.")
    min_value = models.FloatField(null=True, blank=True)
    max_value = models.FloatField(null=True, blank=True)
    error_labels = models.JSONField(default=list, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["project", "position", "id"]
        verbose_name_plural = "criteria"
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="criterion_unique_name"),
            models.CheckConstraint(
                condition=~Q(scale="interval")
                | (Q(min_value__isnull=False) & Q(max_value__isnull=False)),
                name="criterion_interval_has_bounds",
            ),
            models.CheckConstraint(
                condition=~Q(scale="pairwise") | Q(target="item"),
                name="criterion_pairwise_on_items",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.scale}, per {self.target})"

    @property
    def value_labels(self) -> list:
        """The allowed values in order: the labels, or a, b, tie for pairwise criteria."""
        return PAIRWISE_LABELS if self.scale == self.Scale.PAIRWISE else list(self.labels)


class Item(models.Model):
    class Kind(models.TextChoices):
        SOLUTION = "solution", "Solution (prompt and steps)"
        RESPONSE = "response", "Response (prompt and one answer)"
        PAIR = "pair", "Pair (prompt and answers A and B)"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="items")
    external_id = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    prompt = models.TextField(blank=True)
    response = models.TextField(null=True, blank=True)
    response_a = models.TextField(null=True, blank=True)
    response_b = models.TextField(null=True, blank=True)
    reference_answer = models.TextField(null=True, blank=True)
    meta = models.JSONField(default=dict, blank=True)
    n_steps = models.PositiveIntegerField(default=0)
    # A digest of the item's content, so a re-import can tell "the same item" from "another
    # item under the same id" without loading the old text.
    content_hash = models.CharField(max_length=64)
    # Where the item sits in the annotator queue's scan order: Fibonacci hashing of the id
    # (multiply by 2**32 / golden ratio, keep the low 32 bits) spreads consecutive ids, and so
    # an imported file's blocks of one category or source, evenly over the order. Computed by
    # the database, so bulk imports need not know it.
    scatter = models.GeneratedField(
        expression=Mod(F("id") * SCATTER_MULTIPLIER, SCATTER_SPAN),
        output_field=models.BigIntegerField(),
        db_persist=True,
    )
    # The annotator queue's state of the item, kept by annotations/annotate/openness.py in the
    # same transaction as every claim, release, skip and flag: free slots (NULL: untouched or
    # gold) and how many flags hold it back.
    open_slots = models.SmallIntegerField(null=True, blank=True, editable=False)
    flags = models.PositiveSmallIntegerField(default=0, db_default=0, editable=False)

    class Meta:
        ordering = ["project", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "external_id"], name="item_unique_id")
        ]
        indexes = [
            models.Index(fields=["project", "scatter"], name="item_scatter"),
            # Only open items (openness.OPEN, written out here: models cannot import it).
            models.Index(
                fields=["project", "scatter"],
                condition=Q(flags=0) & (Q(open_slots__isnull=True) | Q(open_slots__gt=0)),
                name="item_open_scatter",
            ),
        ]

    def __str__(self) -> str:
        return self.external_id


class Step(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="steps")
    index = models.PositiveIntegerField()
    text = models.TextField()

    class Meta:
        ordering = ["item", "index"]
        constraints = [models.UniqueConstraint(fields=["item", "index"], name="step_unique_index")]

    def __str__(self) -> str:
        return f"{self.item_id}#{self.index}"


class Rater(models.Model):
    class Kind(models.TextChoices):
        HUMAN = "human", "Human"
        MODEL = "model", "Model"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="raters")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    group = models.CharField(max_length=64)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    model_name = models.CharField(max_length=200, blank=True)
    prompt_version = models.CharField(max_length=100, blank=True)
    parameters = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["project", "group", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="rater_unique_name"),
            models.UniqueConstraint(
                fields=["project", "user"],
                condition=Q(user__isnull=False),
                name="rater_unique_user",
            ),
            models.CheckConstraint(
                condition=Q(kind="human") | Q(user__isnull=True), name="rater_model_has_no_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.group})"


class Judgement(models.Model):
    rater = models.ForeignKey(Rater, on_delete=models.CASCADE, related_name="judgements")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="judgements")
    step = models.ForeignKey(
        Step, null=True, blank=True, on_delete=models.CASCADE, related_name="judgements"
    )
    criterion = models.ForeignKey(Criterion, on_delete=models.CASCADE, related_name="judgements")
    value = models.JSONField()
    # The value as a number: the label's position for nominal, ordinal and pairwise criteria,
    # the value itself for interval ones. Statistics read this column, not the JSON.
    code = models.FloatField()
    rationale = models.TextField(blank=True)
    time_spent_ms = models.PositiveIntegerField(null=True, blank=True)
    meta = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        # Two partial constraints because NULL steps are distinct in a plain unique index.
        constraints = [
            models.UniqueConstraint(
                fields=["rater", "step", "criterion"],
                condition=Q(step__isnull=False),
                name="judgement_unique_step",
            ),
            models.UniqueConstraint(
                fields=["rater", "item", "criterion"],
                condition=Q(step__isnull=True),
                name="judgement_unique_item",
            ),
        ]
        indexes = [models.Index(fields=["criterion", "item"], name="judgement_criterion_item")]

    def __str__(self) -> str:
        return f"{self.rater} on {self.item_id}: {self.value!r}"


class JobStatus(models.TextChoices):
    """The life of a background job row (imports here, agreement runs in analysis)."""

    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ImportJob(models.Model):
    Status = JobStatus

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="import_jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    file = models.FileField(upload_to="imports/%Y/%m/")
    format = models.CharField(max_length=32, default="native")
    # The format's own options (labelstudio: the labeling config's text, human group, mapping,
    # item id field), as `services.items_import` takes them.
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    size_bytes = models.BigIntegerField(default=0)
    lines_done = models.BigIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    notes = models.JSONField(default=list, blank=True)  # what the parser said (ImportCounts.notes)
    created_at = models.DateTimeField(auto_now_add=True)
    # The outbox stamp: set once the broker has the job's message; a pending job left
    # unstamped (the broker was down) is sent again by the reaper.
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Written every JOB_HEARTBEAT_S by the attempt running the import (from a thread of its
    # own: the import holds one transaction open); a running job whose heartbeat stopped
    # lost its worker and is queued again, or failed after JOB_MAX_ATTEMPTS.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import #{self.pk} into {self.project} ({self.status})"


class ExportJob(models.Model):
    """A project exported from the web (pretix style): the row comes first, the task fills in
    its progress and, once the whole file is written, its path, so a page can show both. The
    file is the native JSON Lines, or a zip of a tidy data set's tables and card."""

    Status = JobStatus

    class Format(models.TextChoices):
        NATIVE = "native", "Native JSON Lines (re-importable)"
        TIDY_PARQUET = "tidy-parquet", "Tidy data set, Parquet (zip)"
        TIDY_JSONL = "tidy-jsonl", "Tidy data set, JSON Lines (zip)"
        PAIRS = "pairs", "Tidy data set, JSON Lines, with majority preference pairs (zip)"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="export_jobs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    format = models.CharField(max_length=16, choices=Format.choices, default=Format.NATIVE)
    pairs_group = models.CharField(max_length=64, blank=True)  # whose votes decide (pairs)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    rows_done = models.BigIntegerField(default=0)
    # Approximate: the project's criteria, items, judgements and scores counted at the start
    # (pairs not included); the progress bar's denominator, not a promise.
    rows_total = models.BigIntegerField(default=0)
    path = models.CharField(max_length=300, blank=True)  # under MEDIA_ROOT, set once complete
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)  # the outbox stamp (judgeapp.jobs)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"export #{self.pk} of {self.project} ({self.status})"


class QueueCounter(models.Model):
    """How many of a project's items are open to the annotator queue, kept by
    annotations/annotate/openness.py in the transaction of every change (its own row, so a
    project's save never writes a stale count back, and claims lock this row, not the
    project's)."""

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, primary_key=True, related_name="queue_counter"
    )
    items_open = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.project_id}: {self.items_open} open"


class Assignment(models.Model):
    """One item in one annotator's queue.

    The database keeps the queue honest: an item has at most one row per annotator, and the
    annotators who hold it take slots 0..k-1 with (item, slot) unique, so no race can give an
    item to more than k people. A skipped or flagged item gives its slot back (slot NULL) but
    keeps its row, so it never comes back to the same annotator. Gold items are shown to every
    annotator and take no slot. An annotator has at most one open item per project.
    """

    class Status(models.TextChoices):
        ASSIGNED = "assigned", "Assigned"
        SUBMITTED = "submitted", "Submitted"
        SKIPPED = "skipped", "Skipped"
        FLAGGED = "flagged", "Flagged as broken"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="assignments")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    slot = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ASSIGNED)
    is_gold = models.BooleanField(default=False)
    # Pairs: answer B is shown first (left). Values are stored in the item's a/b orientation.
    swapped = models.GeneratedField(
        expression=_pair_swapped(), output_field=models.BooleanField(), db_persist=True
    )
    reason = models.TextField(blank=True, help_text="Why the item was skipped or flagged.")
    submission_id = models.UUIDField(null=True, blank=True)
    time_spent_ms = models.PositiveIntegerField(default=0)
    gold_correct = models.PositiveIntegerField(null=True, blank=True)
    gold_total = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project", "user", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["item", "slot"], name="assignment_unique_slot"),
            models.UniqueConstraint(fields=["item", "user"], name="assignment_unique_user"),
            models.UniqueConstraint(
                fields=["project", "user"],
                condition=Q(status="assigned"),
                name="assignment_one_open",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["assigned", "submitted"]) | Q(slot__isnull=True),
                name="assignment_released_has_no_slot",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "user", "status"], name="assignment_user_status"),
            # Flagged items are held back from every queue; the claim asks per candidate.
            models.Index(fields=["item"], condition=Q(status="flagged"), name="assignment_flagged"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} for {self.user_id} (slot {self.slot}, {self.status})"


class GoldItem(models.Model):
    """An item with known answers, to measure each annotator's accuracy.

    `expected` maps criterion names to the expected value: one label for an item criterion,
    a list with one entry per step (null: any label) for a step criterion.
    """

    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="gold")
    expected = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item"]

    def __str__(self) -> str:
        return f"gold {self.item}"

    @property
    def expected_json(self) -> str:
        return json.dumps(self.expected)


# The model-judge tables live with their code (annotations/judges/); importing them here is
# what registers them with this app.
from annotations.audit import AuditEvent  # noqa: E402
from annotations.judges.models import (  # noqa: E402
    JudgeAnswer,
    JudgeConfig,
    JudgeRun,
    JudgeRunChunk,
    ModelPrice,
)
from annotations.judges.tokens import RaterBatch, RaterToken  # noqa: E402
from annotations.scores import Score  # noqa: E402

__all__ = [
    "AuditEvent",
    "JudgeAnswer",
    "JudgeConfig",
    "JudgeRun",
    "JudgeRunChunk",
    "ModelPrice",
    "RaterBatch",
    "RaterToken",
    "Score",
]
