"""External judges: a model rater's API token, and the batches it has posted.

A team that runs its own judge elsewhere gets a token for one model `Rater` and posts that
rater's judgements in bulk (`annotations/judges/api.py`). Only a SHA-256 hash of the key is
stored: the key itself is shown once, when it is made. A `RaterBatch` is one accepted post,
keyed by the client's batch id, so posting the same batch again writes nothing.
"""

from django.conf import settings
from django.db import models

# Related models by name, not imported (see annotations/judges/models.py).


class RaterToken(models.Model):
    rater = models.OneToOneField(
        "annotations.Rater", on_delete=models.CASCADE, related_name="api_token"
    )
    # The hash is what a request is looked up by; a hash of a random 256-bit key needs no salt.
    key_hash = models.CharField(max_length=64, unique=True)
    key_prefix = models.CharField(max_length=12, help_text="The key's start, to tell keys apart.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["rater"]

    def __str__(self) -> str:
        return f"token {self.key_prefix}… for {self.rater}"


class RaterBatch(models.Model):
    """One accepted bulk post: what it created, answered again when the batch id repeats."""

    rater = models.ForeignKey(
        "annotations.Rater", on_delete=models.CASCADE, related_name="api_batches"
    )
    batch_id = models.CharField(max_length=100)
    created = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["rater", "-created_at"]
        constraints = [
            # Idempotency: two posts of one batch (a retry, or two at once) store it once; the
            # second waits on this index and then finds the first.
            models.UniqueConstraint(fields=["rater", "batch_id"], name="rater_batch_unique_id")
        ]

    def __str__(self) -> str:
        return f"batch {self.batch_id!r} of {self.rater}"
