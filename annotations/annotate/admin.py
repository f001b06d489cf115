"""Admin for the annotator queue: assignments (release a stuck or flagged item) and gold items."""

from django.contrib import admin

from annotations.models import Assignment, GoldItem


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "item", "user", "slot", "status", "is_gold", "submitted_at"]
    list_filter = ["status", "is_gold", "project"]
    search_fields = ["item__external_id", "user__username", "reason"]
    raw_id_fields = ["item", "user"]
    list_select_related = ["project", "item", "user"]
    readonly_fields = ["submission_id", "created_at", "submitted_at"]


@admin.register(GoldItem)
class GoldItemAdmin(admin.ModelAdmin):
    list_display = ["item", "created_by", "created_at"]
    list_filter = ["item__project"]
    search_fields = ["item__external_id"]
    raw_id_fields = ["item", "created_by"]
