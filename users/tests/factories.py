"""factory-boy factories for users (created in whatever schema is active)."""

import factory

from users.models import User, UserRole, UserStatus

PASSWORD = "p360-test-Password-1"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    # deterministic and searchable-proof: random names ("Jackson") would match searches for "son"
    first_name = "Pat"
    last_name = factory.Sequence(lambda n: f"Q{n}")
    role = UserRole.MEMBER
    status = UserStatus.ACTIVE

    @classmethod
    def _create(cls, model_class, *args, password=PASSWORD, **kwargs):
        return model_class.objects.create_user(kwargs.pop("email"), password, **kwargs)
