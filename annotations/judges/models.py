"""Model judges run from the platform: a versioned configuration, its runs and its answers.

A `JudgeConfig` is one judge version: its identity is a hash of what decides its answers
(provider, model, base URL, template, parameters, parser version), and it owns one model
`Rater`, so changing any of them makes a new rater and never overwrites an earlier version's
judgements. Every answer a model gave (parsed or not) is a `JudgeAnswer`, stored before the
judgement made from it, keyed so that asking the same thing twice is impossible: a rerun reads
the cache and pays nothing. A `JudgeRun` is one pass of a configuration over items on one
criterion, split into `JudgeRunChunk`s that Celery workers claim.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

# Related models by name, not imported: annotations.models imports this module to register
# its tables with the app, so importing annotations.models here would close a loop.


class JudgeConfig(models.Model):
    class Provider(models.TextChoices):
        OPENAI = "openai", "OpenAI-compatible (OpenAI, vLLM, Ollama, llama.cpp, TGI)"
        ANTHROPIC = "anthropic", "Anthropic"
        CHECKER = "checker", "Answer checker (math-verify, no network)"

    project = models.ForeignKey(
        "annotations.Project", on_delete=models.CASCADE, related_name="judges"
    )
    name = models.CharField(max_length=100, help_text="A readable name; the version is a hash.")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    model = models.CharField(max_length=200, blank=True)
    base_url = models.CharField(max_length=500, blank=True)
    template = models.CharField(max_length=32, help_text="The built-in template it starts from.")
    system_text = models.TextField(blank=True)
    template_text = models.TextField(blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    parser_version = models.CharField(max_length=32)
    identity = models.CharField(max_length=64, help_text="sha256 of what decides its judgements.")
    ask_key = models.CharField(max_length=64, help_text="The identity without the parser.")
    rater = models.OneToOneField(
        "annotations.Rater", on_delete=models.PROTECT, related_name="judge_config"
    )
    # How hard it may be asked: not part of the identity (they change no answer).
    concurrency = models.PositiveSmallIntegerField(default=4)
    requests_per_minute = models.PositiveIntegerField(default=0, help_text="0: no limit")
    tokens_per_minute = models.PositiveIntegerField(default=0, help_text="0: no limit")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "-created_at"]
        constraints = [
            # One configuration (and so one rater) per judge version and project.
            models.UniqueConstraint(fields=["project", "identity"], name="judge_unique_identity")
        ]

    def __str__(self) -> str:
        return self.rater.name


class ModelPrice(models.Model):
    """What a model costs per million tokens; a judge run multiplies the API's usage by it.
    Matched on the model name: the longest `model_prefix` that starts it wins."""

    model_prefix = models.CharField(max_length=200, unique=True)
    input_per_mtok = models.DecimalField(max_digits=10, decimal_places=4)
    output_per_mtok = models.DecimalField(max_digits=10, decimal_places=4)

    def __str__(self) -> str:
        return f"{self.model_prefix}: {self.input_per_mtok} / {self.output_per_mtok} per Mtok"


class JudgeRun(models.Model):
    class Status(models.TextChoices):
        # The values of annotations.models.JobStatus, and one more.
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    config = models.ForeignKey(JudgeConfig, on_delete=models.CASCADE, related_name="runs")
    criterion = models.ForeignKey(
        "annotations.Criterion", on_delete=models.CASCADE, related_name="+"
    )
    selection = models.JSONField(default=dict, help_text="Which items: all, meta, gold or ids.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    stop_reason = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    n_items = models.PositiveIntegerField(default=0)
    n_chunks = models.PositiveIntegerField(default=0)
    cost_cap = models.FloatField(null=True, blank=True, help_text="Stop when the cost passes it.")
    # The environment variable the worker reads the API key from (never the key itself).
    api_key_env = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"judge run #{self.pk} ({self.status})"


class JudgeRunChunk(models.Model):
    """A slice of a run's items that one task judges; its counts are written when it ends,
    overwriting those of an earlier attempt (a worker that died), never adding to them."""

    run = models.ForeignKey(JudgeRun, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    item_ids = models.JSONField()
    status = models.CharField(
        max_length=16, choices=JudgeRun.Status.choices, default=JudgeRun.Status.PENDING
    )
    counts = models.JSONField(default=dict, blank=True)
    # Which attempt owns the chunk: a claim adds one, and only that attempt may beat or end it.
    attempts = models.PositiveSmallIntegerField(default=0)
    # Written every few seconds while an attempt works: a running chunk whose heartbeat
    # stopped lost its worker, and the reaper queues it again (Redis would redeliver its
    # message only after the visibility timeout, an hour later).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The outbox stamp: set once the broker has the chunk's message (see judgeapp.jobs).
    queued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="judge_chunk_unique_index")
        ]

    def __str__(self) -> str:
        return f"chunk {self.index} of {self.run}"


class JudgeAnswer(models.Model):
    """One answer a model gave, stored raw before any judgement is made from it: the cache a
    rerun reads. Parsed when judgements are made, by the parser of the judge version reading
    it (so an answer that does not parse is kept and counted, and a fixed parser re-reads it).

    `order` is "ab" or "ba" for pair templates (the answers as shown), "" otherwise; `sample`
    counts self-consistency samples from 0.
    """

    # What decides the answer: the judge's identity without its parser version, so a parser
    # fix (a new judge version) re-reads these answers instead of asking again.
    ask_key = models.CharField(max_length=64)
    config = models.ForeignKey(JudgeConfig, on_delete=models.CASCADE, related_name="answers")
    criterion = models.ForeignKey(
        "annotations.Criterion", on_delete=models.CASCADE, related_name="+"
    )
    item = models.ForeignKey(
        "annotations.Item", on_delete=models.CASCADE, related_name="judge_answers"
    )
    order = models.CharField(max_length=2, blank=True)
    sample = models.PositiveSmallIntegerField(default=0)
    run = models.ForeignKey(
        JudgeRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="answers"
    )
    system = models.TextField(blank=True)  # the rendered system prompt, "" without one
    prompt = models.TextField()
    raw = models.TextField()
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    cost = models.FloatField(default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Asked once per judge version, target, presentation order and sample: a rerun,
            # a redelivered task or two workers racing can only find the answer stored.
            models.UniqueConstraint(
                fields=["ask_key", "criterion", "item", "order", "sample"],
                name="judge_answer_unique",
            ),
            models.CheckConstraint(
                condition=Q(order__in=["", "ab", "ba"]), name="judge_answer_order"
            ),
        ]
        indexes = [models.Index(fields=["run"], name="judge_answer_run")]

    def __str__(self) -> str:
        return f"answer {self.pk} on item {self.item_id} ({self.order or '-'}, {self.sample})"
