"""Email + password authentication with the same cost for unknown emails and wrong passwords."""

from django.contrib.auth.backends import ModelBackend

from users.models import User


class EmailBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        email = email or username
        if not email or password is None:
            return None
        try:
            user = User.objects.get_by_email(email)
        except User.DoesNotExist:
            User().set_password(password)  # spend the hashing time anyway: no timing oracle for emails
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
