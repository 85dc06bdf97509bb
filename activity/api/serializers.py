"""Activity entries as the API shows them."""

import json

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from activity.models import ActivityEntry


class ActorSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField(allow_null=True, help_text="null for a service account")
    full_name = serializers.CharField(help_text="a person's name, or the service account's")


def actor_of(actor_type: str, actor_id, email, first_name, last_name, metadata: dict) -> dict | None:
    """The entry's actor: a person (null once removed), a service account (by the name it had then), or null
    for the system and the command line."""
    if actor_type == "service" and actor_id is not None:
        return {"id": str(actor_id), "email": None, "full_name": metadata.get("service_account", "")}
    if email is None:
        return None
    return {"id": str(actor_id), "email": email, "full_name": f"{first_name} {last_name}".strip()}


class TargetSerializer(serializers.Serializer):
    type = serializers.CharField(source="target_type")
    id = serializers.CharField(source="target_id")
    repr = serializers.CharField(source="target_repr")


class ActivityEntrySerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    target = TargetSerializer(source="*")
    changes = serializers.DictField(help_text='{"field": {"old": ..., "new": ...}}')
    metadata = serializers.DictField()

    class Meta:
        model = ActivityEntry
        fields = [
            "id", "occurred_at", "actor", "actor_type", "verb", "target", "changes", "metadata", "ip",
            "user_agent", "request_id",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(ActorSerializer(allow_null=True))
    def get_actor(self, entry) -> dict | None:
        person = entry.actor
        return actor_of(
            entry.actor_type,
            entry.actor_id,
            person.email if person else None,
            person.first_name if person else "",
            person.last_name if person else "",
            entry.metadata or {},
        )


def activity_list_rows(rows: list[dict]) -> list[dict]:
    """What ActivityEntrySerializer(many=True) gives for these rows (activity.selectors.activity_rows), directly."""
    return [
        {
            "id": str(row["id"]),
            "occurred_at": row["occurred_at_text"],
            # actor__id is the entry's own actor_id column: a removed actor shows as the join's NULL email
            "actor": actor_of(
                row["actor_type"],
                row["actor__id"],
                row["actor__email"],
                row["actor__first_name"],
                row["actor__last_name"],
                row["metadata_json"],
            ),
            "actor_type": row["actor_type"],
            "verb": row["verb"],
            "target": {"type": row["target_type"], "id": row["target_id"], "repr": row["target_repr"]},
            "changes": {str(key): value for key, value in row["changes_json"].items()},
            "metadata": {str(key): value for key, value in row["metadata_json"].items()},
            "ip": row["ip"],
            "user_agent": row["user_agent"],
            "request_id": row["request_id"],
        }
        for row in rows
    ]


EXPORT_HEADER = [
    "id", "occurred_at", "actor_id", "actor_email", "actor_type", "verb", "target_type", "target_id",
    "target_repr", "changes", "metadata", "ip", "user_agent", "request_id",
]  # fmt: skip


def export_record(entry: ActivityEntry) -> dict:
    return {
        "id": str(entry.id),
        "occurred_at": entry.occurred_at.isoformat().replace("+00:00", "Z"),
        "actor": {"id": str(entry.actor.id), "email": entry.actor.email} if entry.actor else None,
        "actor_type": entry.actor_type,
        "verb": entry.verb,
        "target": {"type": entry.target_type, "id": entry.target_id, "repr": entry.target_repr},
        "changes": entry.changes,
        "metadata": entry.metadata,
        "ip": entry.ip,
        "user_agent": entry.user_agent,
        "request_id": entry.request_id,
    }


def export_row(record: dict) -> list:
    actor = record["actor"] or {}
    target = record["target"]
    return [
        record["id"], record["occurred_at"], actor.get("id", ""), actor.get("email", ""), record["actor_type"],
        record["verb"], target["type"], target["id"], target["repr"], json.dumps(record["changes"]),
        json.dumps(record["metadata"]), record["ip"] or "", record["user_agent"], record["request_id"],
    ]  # fmt: skip
