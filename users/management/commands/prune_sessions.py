"""manage.py prune_sessions (--tenant T | --all) [--older-than DAYS]: sessions that ended or expired that long ago
are deleted (their endings stay in the activity log)."""

from __future__ import annotations

from p360.commands import RetentionCommand
from users.services.sessions import sessions_prune


class Command(RetentionCommand):
    help = "Delete sessions that ended or expired more than a number of days ago (default 30), for one tenant or all."
    noun = "sessions that ended"
    default_days = 30

    def prune(self, older_than, progress):
        return sessions_prune(older_than)
