"""Agreement runs and their results, stored as rows (the CSV files are made from these)."""

from django.conf import settings
from django.db import models

from annotations.models import JobStatus, Project


class AgreementRun(models.Model):
    Status = JobStatus

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="agreement_runs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # criteria (names; empty = all), slice_keys, reference_group, n_boot, seed, min_slice_items
    config = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    progress = models.FloatField(default=0.0, help_text="0..1")
    stage = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"agreement run #{self.pk} on {self.project} ({self.status})"


class AgreementResult(models.Model):
    run = models.ForeignKey(AgreementRun, on_delete=models.CASCADE, related_name="results")
    criterion = models.CharField(max_length=100)
    slice = models.CharField(max_length=100)
    slice_value = models.CharField(max_length=200)
    group_a = models.CharField(max_length=64)
    group_b = models.CharField(max_length=64)
    metric = models.CharField(max_length=64)
    estimate = models.FloatField(null=True)
    ci_low = models.FloatField(null=True)
    ci_high = models.FloatField(null=True)
    n_items = models.PositiveIntegerField()
    n_pairs = models.PositiveIntegerField()
    method = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "criterion", "slice", "slice_value", "group_a", "group_b", "metric"],
                name="agreement_result_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.group_a}/{self.group_b} {self.slice}={self.slice_value}"


class ShortfallResult(models.Model):
    run = models.ForeignKey(AgreementRun, on_delete=models.CASCADE, related_name="shortfall")
    rank = models.PositiveIntegerField()
    criterion = models.CharField(max_length=100)
    slice = models.CharField(max_length=100)
    slice_value = models.CharField(max_length=200)
    reference_group = models.CharField(max_length=64)
    judge_group = models.CharField(max_length=64)
    judge_agreement = models.FloatField(null=True)
    human_agreement = models.FloatField(null=True)
    gap = models.FloatField(null=True)
    ci_low = models.FloatField(null=True)
    ci_high = models.FloatField(null=True)
    p_value = models.FloatField(null=True)
    p_adjusted = models.FloatField(null=True)
    verdict = models.CharField(max_length=64)
    n_items = models.PositiveIntegerField()
    small_slice = models.BooleanField(default=False)

    class Meta:
        ordering = ["rank"]

    def __str__(self) -> str:
        return f"#{self.rank} {self.judge_group} {self.slice}={self.slice_value}"


class Disagreement(models.Model):
    run = models.ForeignKey(AgreementRun, on_delete=models.CASCADE, related_name="disagreements")
    criterion = models.CharField(max_length=100)
    item = models.CharField(max_length=200)
    step = models.IntegerField(null=True)
    reference_group = models.CharField(max_length=64)
    judge_group = models.CharField(max_length=64)
    reference_label = models.CharField(max_length=200)
    judge_label = models.CharField(max_length=200)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.judge_group} on {self.item}: {self.judge_label} vs {self.reference_label}"
