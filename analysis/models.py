"""Agreement runs and their results, stored as rows (the CSV files are made from these).

The result tables' columns come from the row types in `analysis.schema`, so the engine's
rows, these tables and the CSV files cannot drift apart.
"""

import dataclasses
import typing

from django.conf import settings
from django.db import models

from analysis import schema
from analysis.schema import ChartRow, DisagreementRow, ResultRow, ShortfallRow
from annotations.models import JobStatus, Project


def _column(annotation: object, metadata: typing.Mapping) -> models.Field:
    """The model field of one row field (see `analysis.schema` for the conventions)."""
    if annotation is str:
        return models.CharField(max_length=metadata["max_length"], blank=metadata["blank"])
    if annotation is float:
        return models.FloatField(null=True)  # NaN is stored as NULL
    if annotation is bool:
        return models.BooleanField(default=False)
    if annotation is int:
        return models.PositiveIntegerField()
    if annotation == int | None:
        return models.IntegerField(null=True)
    raise TypeError(f"no column type for {annotation!r}")


def _columns_of(row_type: type[schema.Row]) -> type[models.Model]:
    """An abstract model with one column per field of `row_type`."""
    hints = typing.get_type_hints(row_type)
    columns = {f.name: _column(hints[f.name], f.metadata) for f in dataclasses.fields(row_type)}
    meta = type("Meta", (), {"abstract": True})
    name = f"{row_type.__name__}Columns"
    return type(name, (models.Model,), {"__module__": __name__, "Meta": meta, **columns})


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
    # The outbox stamp: set once the broker has the run's message; a pending run left
    # unstamped (the broker was down) is sent again by the reaper.
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"agreement run #{self.pk} on {self.project} ({self.status})"


class AgreementResult(_columns_of(ResultRow)):
    run = models.ForeignKey(AgreementRun, on_delete=models.CASCADE, related_name="results")

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

    @classmethod
    def from_row(cls, *, run: AgreementRun, row: ResultRow) -> "AgreementResult":
        return cls(run=run, **schema.stored_values(row))


class ShortfallResult(_columns_of(ShortfallRow)):
    run = models.ForeignKey(AgreementRun, on_delete=models.CASCADE, related_name="shortfall")
    rank = models.PositiveIntegerField()

    class Meta:
        ordering = ["rank"]

    def __str__(self) -> str:
        return f"#{self.rank} {self.judge_group} {self.slice}={self.slice_value}"

    @classmethod
    def from_row(cls, *, run: AgreementRun, rank: int, row: ShortfallRow) -> "ShortfallResult":
        return cls(run=run, rank=rank, **schema.stored_values(row))


class Disagreement(_columns_of(DisagreementRow)):
    run = models.ForeignKey(AgreementRun, on_delete=models.CASCADE, related_name="disagreements")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.judge_group} on {self.item}: {self.judge_label} vs {self.reference_label}"

    @classmethod
    def from_row(cls, *, run: AgreementRun, row: DisagreementRow) -> "Disagreement":
        return cls(run=run, **schema.stored_values(row))


class ChartData(_columns_of(ChartRow)):
    run = models.ForeignKey(AgreementRun, on_delete=models.CASCADE, related_name="chart_rows")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.chart} {self.group_a}/{self.group_b} {self.x_label} {self.y_label}"

    @classmethod
    def from_row(cls, *, run: AgreementRun, row: ChartRow) -> "ChartData":
        return cls(run=run, **schema.stored_values(row))


class ReportDocument(models.Model):
    """The whole report as one self-contained HTML file (charts inline as SVG), made by the
    run's task after its rows are stored; its own table so listing runs never reads it."""

    run = models.OneToOneField(AgreementRun, on_delete=models.CASCADE, related_name="document")
    html = models.TextField()
    render_s = models.FloatField(default=0.0, help_text="seconds spent rendering")
    created_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"HTML report of run #{self.run_id}"


class ReportChunk(models.Model):
    """One range of a streamed run's items (`analysis.streamed_runs`): a task turns it into
    additive sums, the merge adds them. Keyed by (run, index) and overwritten by a rerun, so a
    chunk lost with its worker is computed again by itself and never counted twice."""

    run = models.ForeignKey(AgreementRun, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    item_low = models.BigIntegerField(help_text="first item key of the range")
    item_high = models.BigIntegerField(help_text="first item key after the range")
    status = models.CharField(
        max_length=16, choices=AgreementRun.Status.choices, default=AgreementRun.Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The chunk's `engine.streamed.ChunkSums` as an .npz file (ChunkSums.to_bytes).
    sums = models.BinaryField(null=True, blank=True)
    seconds = models.FloatField(default=0.0)
    peak_rss_mb = models.FloatField(default=0.0)

    class Meta:
        ordering = ["run", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="report_chunk_unique_index")
        ]

    def __str__(self) -> str:
        return f"chunk {self.index} of {self.run}"
