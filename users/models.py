"""Users: email login (unique case-insensitively), tenant role and lifecycle status, token version; sessions."""

import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import F, Func, TextField
from django.db.models.functions import Coalesce, Lower, Upper
from django.utils.timezone import now


class SearchText(Func):
    """email, names and job title as one text (all NOT NULL): `search=` is one trigram-indexed LIKE on it."""

    template = "(%(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = TextField()

    def __init__(self):
        super().__init__(F("email"), F("first_name"), F("last_name"), F("job_title"))


class UserRole(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


class UserStatus(models.TextChoices):
    INVITED = "invited", "Invited"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    DEACTIVATED = "deactivated", "Deactivated"


class UserManager(BaseUserManager):
    def get_by_email(self, email: str):
        """Case-insensitive lookup served by the unique index on lower(email)."""
        return self.alias(email_lower=Lower("email")).get(email_lower=email.strip().lower())

    def get_by_natural_key(self, username):
        return self.get_by_email(username)

    def create_user(self, email, password=None, **fields):
        user = self.model(email=email.strip(), **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **fields):
        fields.update(is_staff=True, is_superuser=True, role=UserRole.OWNER, status=UserStatus.ACTIVE)
        return self.create_user(email, password, **fields)


def login_sort_key(descending: bool):
    """last_login with no login as the far end of its direction ('-infinity' descending, 'infinity' ascending):
    ordering by it is ordering by last_login with NULLs last."""
    bound = "-infinity" if descending else "infinity"
    return Coalesce(F("last_login"), Func(template=f"'{bound}'::timestamptz", output_field=models.DateTimeField()))


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(max_length=254)
    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150)
    role = models.CharField(max_length=16, choices=UserRole.choices, default=UserRole.MEMBER)
    status = models.CharField(max_length=16, choices=UserStatus.choices, default=UserStatus.ACTIVE)
    job_title = models.CharField(max_length=200, blank=True, default="")
    phone = models.CharField(max_length=50, blank=True, default="")
    timezone = models.CharField(max_length=64, default="UTC")
    locale = models.CharField(max_length=35, default="en")
    is_staff = models.BooleanField(default=False, help_text="May sign in to the Django admin of this schema.")
    # Bumped to revoke every token of the user at once (password change, suspension, demotion...).
    token_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["first_name", "last_name"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="users_user_email_ci_unique"),
            models.CheckConstraint(condition=models.Q(role__in=UserRole.values), name="users_user_role_valid"),
            models.CheckConstraint(condition=models.Q(status__in=UserStatus.values), name="users_user_status_valid"),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="users_user_created_idx"),
            models.Index(fields=["email", "id"], name="users_user_email_idx"),
            models.Index(fields=["first_name", "id"], name="users_user_first_name_idx"),
            models.Index(fields=["last_name", "id"], name="users_user_last_name_idx"),
            models.Index(fields=["role", "id"], name="users_user_role_idx"),
            models.Index(fields=["status", "id"], name="users_user_status_idx"),
            models.Index(F("last_login").asc(nulls_last=True), F("id").asc(), name="users_user_login_asc_idx"),
            # the list's sort by last login (NULLs last either way), as users.selectors writes it: never NULL, so
            # that a position past a row is one index range (a row comparison), not an OR that no index serves
            models.Index(login_sort_key(descending=False).asc(), F("id").asc(), name="users_user_login_sort_asc_idx"),
            models.Index(login_sort_key(descending=True).desc(), F("id").desc(), name="users_user_login_sort_desc_idx"),
            # `search=` compiles to UPPER(<SearchText>::text) LIKE UPPER('%q%'): the index is on that expression
            GinIndex(OpClass(Upper(SearchText()), name="gin_trgm_ops"), name="users_user_search_trgm_idx"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def is_active(self) -> bool:  # what Django's auth and admin check
        return self.status == UserStatus.ACTIVE

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.first_name

    def validate_constraints(self, exclude=None):
        # The lower(email) constraint is enforced by the database; services answer 409 email_taken.
        exclude = set(exclude or ())
        exclude.add("email")
        super().validate_constraints(exclude=exclude)


class TokenPurpose(models.TextChoices):
    INVITATION = "invitation", "Invitation"
    PASSWORD_RESET = "password_reset", "Password reset"


class UserToken(models.Model):
    """A single-use, expiring token sent by email (invitation, password reset); only its hash is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="email_tokens")
    purpose = models.CharField(max_length=16, choices=TokenPurpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "purpose"], name="users_token_user_idx")]

    def __str__(self) -> str:
        return f"{self.purpose} for {self.user_id}"


class SessionEnd(models.TextChoices):
    LOGOUT = "logout", "Signed out"
    REVOKED = "revoked", "Ended by its user"
    REVOKED_BY_ADMIN = "revoked_by_admin", "Ended by an administrator"
    CREDENTIALS_CHANGED = "credentials_changed", "Password, status or role changed"
    REFRESH_REUSED = "refresh_reused", "A spent refresh token was presented again"
    LIMIT = "limit", "Too many sessions: the least recently used ended"


class UserSessionQuerySet(models.QuerySet):
    def live(self):
        """Sessions that have not ended nor expired."""
        return self.filter(ended_at__isnull=True, expires_at__gt=now())


class UserSession(models.Model):
    """A sign-in: one refresh-token family. Each refresh spends the family's current refresh token and names
    the next (`refresh_jti`); the access tokens carry the session's id and count only while it has not ended,
    so ending a session stops its refresh and access tokens at once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField()  # a refresh, or an access token's use (written at most once a minute)
    ip = models.GenericIPAddressField(null=True, blank=True)  # of the latest use
    user_agent = models.CharField(max_length=512, blank=True, default="")
    refresh_jti = models.CharField(max_length=64)  # the one refresh token of the family that may still be spent
    refreshed_at = models.DateTimeField()
    expires_at = models.DateTimeField()  # the current refresh token's expiry: the session ends with it
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=32, choices=SessionEnd.choices, blank=True, default="")

    objects = UserSessionQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(
                F("user"),
                F("last_used_at").desc(),
                F("id").desc(),
                name="users_session_live_idx",
                condition=models.Q(ended_at__isnull=True),
            ),
            # the purge of old sessions (users.services.sessions.sessions_prune): by expiry, and by end
            models.Index(fields=["expires_at"], name="users_session_expiry_idx"),
            models.Index(
                fields=["ended_at"], name="users_session_ended_idx", condition=models.Q(ended_at__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"session {self.pk} of {self.user_id}"
