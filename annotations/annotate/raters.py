"""The human rater behind an annotator: created on first submit, in their membership's group."""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from annotations.errors import DomainError
from annotations.models import Membership, Rater


def rater_for_user(*, user_id: int, project_id: int) -> Rater:
    """The user's human rater in the project, created on first use in their membership group."""
    raters = Rater.objects.filter(project_id=project_id, user_id=user_id).order_by()
    rater = raters.first()
    if rater is not None:
        return rater
    user = get_user_model().objects.get(pk=user_id)
    membership = Membership.objects.get(project_id=project_id, user=user)
    username = user.get_username()
    for name in (username, f"{username} (user {user.pk})"):
        try:
            with transaction.atomic():
                return Rater.objects.create(
                    project_id=project_id,
                    user=user,
                    name=name,
                    kind=Rater.Kind.HUMAN,
                    group=membership.rater_group,
                )
        except IntegrityError:
            # The name belongs to an imported rater, or our own rater was created meanwhile.
            rater = raters.first()
            if rater is not None:
                return rater
    raise DomainError("Your rater could not be created; ask a project lead.")
