"""Every model in the Django admin, with lists, search and filters for leads."""

from django.contrib import admin
from django.http import HttpRequest

from annotations.models import (
    AuditEvent,
    Criterion,
    ExportJob,
    ImportJob,
    Item,
    Judgement,
    Membership,
    Project,
    Rater,
    RaterToken,
    Step,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class CriterionInline(admin.TabularInline):
    model = Criterion
    extra = 0


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [CriterionInline, MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "project", "role", "rater_group"]
    list_filter = ["role", "project", "rater_group"]
    search_fields = ["user__username", "project__name"]
    autocomplete_fields = ["user", "project"]


@admin.register(Criterion)
class CriterionAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "target", "scale", "labels"]
    list_filter = ["target", "scale", "project"]
    search_fields = ["name"]


class StepInline(admin.TabularInline):
    model = Step
    extra = 0


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["external_id", "project", "kind", "n_steps"]
    list_filter = ["kind", "project"]
    search_fields = ["external_id", "prompt"]
    readonly_fields = ["content_hash"]
    inlines = [StepInline]


@admin.register(Step)
class StepAdmin(admin.ModelAdmin):
    list_display = ["item", "index"]
    search_fields = ["item__external_id", "text"]
    raw_id_fields = ["item"]


@admin.register(Rater)
class RaterAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "kind", "group", "user", "model_name"]
    list_filter = ["kind", "group", "project"]
    search_fields = ["name", "model_name", "user__username"]
    raw_id_fields = ["user"]


@admin.register(Judgement)
class JudgementAdmin(admin.ModelAdmin):
    list_display = ["id", "rater", "item", "step", "criterion", "value", "created_at"]
    list_filter = ["criterion__project", "criterion", "rater__kind", "rater__group"]
    search_fields = ["item__external_id", "rater__name", "rationale"]
    raw_id_fields = ["rater", "item", "step", "criterion"]
    list_select_related = ["rater", "item", "step", "criterion"]
    # A million rows: don't count them on every page.
    show_full_result_count = False


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "format", "status", "lines_done", "error_count", "created_at"]
    list_filter = ["status", "format", "project"]
    readonly_fields = ["counts", "errors", "started_at", "finished_at"]


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "format", "status", "rows_done", "rows_total", "created_at"]
    list_filter = ["status", "format", "project"]
    readonly_fields = ["path", "error", "started_at", "finished_at"]


@admin.register(RaterToken)
class RaterTokenAdmin(admin.ModelAdmin):
    """Keys are made on the judges page or by `create_rater_token` (the key is shown once);
    here they are seen and revoked (deleted), never made or edited."""

    list_display = ["rater", "key_prefix", "created_by", "created_at", "last_used_at"]
    list_select_related = ["rater", "created_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: RaterToken | None = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit log is append-only: seen here, never added, changed or deleted."""

    list_display = ["created_at", "project_slug", "actor_name", "action", "target_label"]
    list_filter = ["action", "project"]
    search_fields = ["actor_name", "project_slug", "target_label"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False


from annotations.annotate import admin as annotate_admin  # noqa: E402, F401 - registers Assignment, GoldItem
