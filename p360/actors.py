"""Who acts. Every service that changes something takes an actor (`actor=`), checks its domain's policy
against it (users.policy, organizations.policy) and records it on the activity entry of the change.

- A person: signed in through the API or the admin (`Actor.person(user)`, `request_actor(request)`).
- The CLI: an operator at a shell on the server (`CLI`), who may do anything the commands offer.
- The system: what P360 does by itself (`SYSTEM`): a seeded demo, a scheduled job.
- A service account, through one of its API keys (`Actor.service(account, key_id)`): bound by its scopes, and
  otherwise by an admin's limits (never owners, never the owner role, never service accounts).

The request's context (activity.context) keeps only where a change came from: address, user agent, request id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from activity.models import ActorType


@dataclass(frozen=True)
class Actor:
    type: str  # activity.models.ActorType
    user: object | None = None  # the person (type "user"); None: someone not signed in (a failed login)
    service_account: object | None = None  # type "service": the account, and the key it used
    key_id: object | None = None
    # what the policies read once per actor (a request's: request_actor), e.g. the organizations one administers
    memo: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def person(cls, user) -> Actor:
        return cls(ActorType.USER, user)

    @classmethod
    def service(cls, account, key_id) -> Actor:
        return cls(ActorType.SERVICE, service_account=account, key_id=key_id)

    @property
    def pk(self):
        """The id an activity entry records as its actor: the person's, the service account's, or None."""
        if self.service_account is not None:
            return self.service_account.pk
        return getattr(self.user, "pk", None)

    @property
    def role(self) -> str | None:
        """The person's tenant role (owner, admin, member); a service account's limits are an admin's; None for
        the CLI and the system."""
        if self.type == ActorType.SERVICE:
            return "admin"
        return getattr(self.user, "role", None)

    def has_scope(self, scope: str | None) -> bool:
        """Whether a service account's key holds this scope (`x:write` holds `x:read`); people, the CLI and the
        system are not scoped."""
        if self.type != ActorType.SERVICE:
            return True
        if scope is None:
            return False
        held = set(self.service_account.scopes)
        return scope in held or (scope.endswith(":read") and scope.replace(":read", ":write") in held)

    def require_scope(self, scope: str | None) -> None:
        if not self.has_scope(scope):
            from p360.api.problems import InsufficientScope

            raise InsufficientScope(scope)

    @property
    def unrestricted(self) -> bool:
        """The CLI and the system: not subject to the roles of the policy (they answer to whoever runs them)."""
        return self.type in (ActorType.CLI, ActorType.SYSTEM)

    def is_user(self, user) -> bool:
        return self.user is not None and user is not None and self.user.pk == user.pk


CLI = Actor(ActorType.CLI)
SYSTEM = Actor(ActorType.SYSTEM)
ANONYMOUS = Actor(ActorType.USER)  # someone not signed in: a failed login, a password reset asked for


def request_actor(request) -> Actor:
    """The actor of an API or admin request (its signed-in person, or the service account of its API key), one
    per request."""
    actor = getattr(request, "_p360_actor", None)
    if actor is None:
        user = getattr(request, "user", None)
        if getattr(user, "is_service", False):
            actor = Actor.service(user.service_account, user.key_id)
        else:
            actor = Actor.person(user if getattr(user, "is_authenticated", False) else None)
        request._p360_actor = actor
    return actor
