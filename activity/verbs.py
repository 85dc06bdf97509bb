"""Every verb the activity log knows (API.md, "Activity")."""

VERBS = frozenset(
    {
        "auth.login",
        "auth.login_failed",
        "auth.logout",
        "auth.password_changed",
        "auth.password_reset_requested",
        "user.created",
        "user.invited",
        "user.updated",
        "user.role_changed",
        "user.suspended",
        "user.activated",
        "user.deactivated",
        "user.restored",
        "users.imported",
        "organization.created",
        "organization.updated",
        "organization.moved",
        "organization.archived",
        "organization.unarchived",
        "organization.deleted",
        "membership.added",
        "membership.updated",
        "membership.removed",
        "service_account.created",
        "service_account.updated",
        "service_account.deleted",
        "service_account.key_created",
        "service_account.key_revoked",
        # the platform's own log (public schema)
        "tenant.created",
        "tenant.updated",
        "tenant.suspended",
        "tenant.activated",
        "tenant.deleted",
        "tenant.backed_up",
        "tenant.restored",
    }
)
PREFIXES = frozenset(verb.split(".", 1)[0] for verb in VERBS)
