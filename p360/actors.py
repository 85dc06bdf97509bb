"""Who acts. Every service that changes something takes an actor (`actor=`), checks its domain's policy
against it (users.policy, organizations.policy) and records it on the activity entry of the change.

- A person: signed in through the API or the admin (`Actor.person(user)`, `request_actor(request)`).
- The CLI: an operator at a shell on the server (`CLI`), who may do anything the commands offer.
- The system: what P360 does by itself (`SYSTEM`): a seeded demo, a scheduled job.

The request's context (activity.context) keeps only where a change came from: address, user agent, request id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from activity.models import ActorType


@dataclass(frozen=True)
class Actor:
    type: str  # activity.models.ActorType
    user: object | None = None  # the person (type "user"); None: someone not signed in (a failed login)
    # what the policies read once per actor (a request's: request_actor), e.g. the organizations one administers
    memo: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def person(cls, user) -> Actor:
        return cls(ActorType.USER, user)

    @property
    def role(self) -> str | None:
        """The person's tenant role (owner, admin, member); None for the CLI and the system."""
        return getattr(self.user, "role", None)

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
    """The actor of an API or admin request (its signed-in person), one per request."""
    actor = getattr(request, "_p360_actor", None)
    if actor is None:
        user = getattr(request, "user", None)
        actor = Actor.person(user if getattr(user, "is_authenticated", False) else None)
        request._p360_actor = actor
    return actor
