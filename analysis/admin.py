from django.contrib import admin

from analysis.models import AgreementResult, AgreementRun, Disagreement, ShortfallResult


@admin.register(AgreementRun)
class AgreementRunAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "status", "progress", "attempts", "created_at"]
    list_filter = ["status", "project"]
    readonly_fields = ["timings", "started_at", "heartbeat_at", "finished_at"]


@admin.register(AgreementResult)
class AgreementResultAdmin(admin.ModelAdmin):
    list_display = ["run", "criterion", "slice", "slice_value", "group_a", "group_b", "metric",
                    "estimate", "ci_low", "ci_high", "n_items"]  # fmt: skip
    list_filter = ["metric", "slice", "criterion"]
    search_fields = ["criterion", "group_a", "group_b", "slice_value"]


@admin.register(ShortfallResult)
class ShortfallResultAdmin(admin.ModelAdmin):
    list_display = ["run", "rank", "criterion", "slice", "slice_value", "judge_group", "gap",
                    "p_adjusted", "verdict"]  # fmt: skip
    list_filter = ["verdict", "judge_group"]


@admin.register(Disagreement)
class DisagreementAdmin(admin.ModelAdmin):
    list_display = ["run", "criterion", "item", "step", "judge_group", "judge_label",
                    "reference_label"]  # fmt: skip
    list_filter = ["judge_group", "criterion"]
    search_fields = ["item"]
