"""Activity entries: append-only (a database trigger refuses UPDATE, DELETE and TRUNCATE except for retention)."""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone


class ActorType(models.TextChoices):
    USER = "user", "User"
    SYSTEM = "system", "System"
    CLI = "cli", "Command line"
    SERVICE = "service", "Service account"


class ActivityEntry(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    occurred_at = models.DateTimeField(default=timezone.now)
    # No database constraint: entries outlive the users they name, and the log never cascades.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # activity_actor_idx (actor, -occurred_at, -id) serves every lookup by actor
        related_name="+",
    )
    actor_type = models.CharField(max_length=8, choices=ActorType.choices, default=ActorType.SYSTEM)
    verb = models.CharField(max_length=64)
    target_type = models.CharField(max_length=32, blank=True, default="")
    target_id = models.CharField(max_length=64, blank=True, default="")
    target_repr = models.CharField(max_length=300, blank=True, default="")
    # Every object the entry concerns (the target, and e.g. the user and organization of a membership):
    # "the activity of X" is `subject_ids @> {X}`, one GIN index for every kind of object.
    subject_ids = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    request_id = models.CharField(max_length=128, blank=True, default="")

    class Meta:
        verbose_name_plural = "activity entries"
        indexes = [
            # the default listing and every cursor over it
            models.Index(fields=["-occurred_at", "-id"], name="activity_occurred_idx"),
            models.Index(fields=["actor", "-occurred_at", "-id"], name="activity_actor_idx"),
            models.Index(fields=["target_type", "target_id", "-occurred_at"], name="activity_target_idx"),
            GinIndex(fields=["subject_ids"], name="activity_subjects_idx"),
            # `verb=user.*` is a prefix LIKE: pattern ops serve it under any collation
            models.Index(fields=["verb"], name="activity_verb_idx", opclasses=["varchar_pattern_ops"]),
            # `search=` compiles to UPPER(col) LIKE UPPER('%q%'): the trigram index is on the same expression
            GinIndex(OpClass(Upper("target_repr"), name="gin_trgm_ops"), name="activity_repr_trgm_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.verb} {self.target_repr}"
