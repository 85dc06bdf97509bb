"""Bearer authentication: a token counts only on the tenant that issued it and while its version is current."""

from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from users.tokens import TENANT_CLAIM, TokenRejected, current_tenant_claim, token_user


class TenantJWTAuthentication(JWTAuthentication):
    www_authenticate_realm = "p360"

    def authenticate(self, request):
        try:
            return super().authenticate(request)
        except (InvalidToken, TokenError) as exc:
            raise TokenRejected() from exc

    def get_validated_token(self, raw_token):
        token = super().get_validated_token(raw_token)
        if token.get(TENANT_CLAIM) != current_tenant_claim():
            raise TokenRejected()
        return token

    def get_user(self, validated_token):
        return token_user(validated_token)
