"""The audit log: what leads did in a project, append-only (and one annotator action leads
want to see: stored answers replaced after an edit conflict).

Services that perform a lead's action (an import, a gold or flag change, a membership or group
change, a report or judge run, a download, a token) call `audit_record` once, inside their own
transaction where they have one, so an action that rolls back leaves no event and a stored
action always has one. Views never call it: the service is the one place an action happens.

Events are never changed or removed by the app: `AuditEvent.save` refuses an update,
`delete` and the queryset's `update`/`delete` refuse too, and the admin shows them read-only.
Deleting a project or a user (the admin) clears the link and keeps the event, which also keeps
the names as they were (`actor_name`, `project_slug`).
"""

import json

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import models

# Related models by name, not imported: annotations/models.py imports this module at its end.


class AuditAction(models.TextChoices):
    """What a lead did. Not stored as field choices, so adding one needs no migration."""

    IMPORT_START = "import.start", "Import started"
    IMPORT_FINISH = "import.finish", "Import finished"
    GOLD_SET = "gold.set", "Gold item set"
    FLAG_RELEASE = "flag.release", "Flag released"
    MEMBERSHIP_SET = "membership.set", "Membership set"
    ANNOTATOR_ADD = "annotator.add", "Annotator added"
    GROUP_MOVE = "group.move", "Member moved to a group"
    REPORT_START = "report.start", "Report started"
    JUDGE_CONFIG_CREATE = "judge.config_create", "Judge version created"
    JUDGE_RUN_START = "judge.run_start", "Judge run started"
    JUDGE_RUN_CANCEL = "judge.run_cancel", "Judge run cancelled"
    DOWNLOAD = "download", "File downloaded"
    EXPORT = "export", "Data exported"
    RATER_TOKEN_CREATE = "token.rater_create", "Rater API key created"
    API_TOKEN_CREATE = "token.api_create", "User API token created"
    # An annotator's, not a lead's: the leads see who replaced stored answers after a conflict.
    ANSWERS_OVERWRITE = "answers.overwrite", "Annotator replaced stored answers"


class AppendOnlyError(Exception):
    """An attempt to change or remove an audit event."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Audit events cannot be changed.")

    def delete(self):
        raise AppendOnlyError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # SET_NULL, not CASCADE: the record outlives the project or user it names.
    project = models.ForeignKey(
        "annotations.Project",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_events",
    )
    project_slug = models.CharField(max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True, help_text="Empty: the system.")
    action = models.CharField(max_length=40, db_index=True)
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=40, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "-created_at"], name="audit_project_created")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name or 'system'} {self.action}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events cannot be deleted.")

    @property
    def detail_json(self) -> str:
        return json.dumps(self.detail, ensure_ascii=False, sort_keys=True)

    @property
    def action_label(self) -> str:
        return AuditAction(self.action).label if self.action in AuditAction.values else self.action


def audit_record(
    *,
    actor: AbstractBaseUser | None,
    project: models.Model | None,
    action: AuditAction | str,
    target: models.Model | None = None,
    detail: dict | None = None,
) -> AuditEvent:
    """Store one event: `actor` (None: the system or the command line) did `action` to `target`
    in `project` (None for what belongs to no project, such as a user's own API token).

    `detail` is JSON-serialisable facts about the action (counts, names, old and new values);
    never secrets: a token's key is not passed here, only its prefix.
    """
    if action not in AuditAction.values:
        raise ValidationError(f"Unknown audit action {action!r}: add it to AuditAction.")
    if actor is not None and not actor.is_authenticated:
        actor = None
    return AuditEvent.objects.create(
        project=project,
        project_slug=getattr(project, "slug", "")[:200],
        actor=actor,
        actor_name=actor.get_username()[:150] if actor is not None else "",
        action=str(action),
        target_type=target._meta.model_name[:40] if target is not None else "",
        target_id=str(target.pk)[:40] if target is not None else "",
        target_label=str(target)[:200] if target is not None else "",
        detail=detail or {},
    )


def audit_events_for_lead(*, project: models.Model, action: str = "") -> models.QuerySet:
    """The project's events, newest first, optionally of one action (the lead's audit page;
    the caller has checked the user leads the project)."""
    events = AuditEvent.objects.filter(project=project)
    if action:
        events = events.filter(action=action)
    return events
