"""OpenAPI generation: every operation documents its problem+json errors and the shared headers."""

from __future__ import annotations

import re

from drf_spectacular import openapi
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from p360.api.problems import PROBLEM_CONTENT_TYPE

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The ETag you read; a stale one is answered 412 and nothing changes.",
)
REQUEST_ID = OpenApiParameter(
    "X-Request-ID",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Your id for this request (1-128 of A-Z a-z 0-9 . _ : -), echoed back; a new one otherwise.",
)


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Retry-safe creation: the same key and body within 24 h replay the first response "
    "(with `Idempotent-Replayed: true`); the same key with another body is 409.",
)


def etag_header() -> OpenApiParameter:
    return OpenApiParameter("ETag", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200])


class ProblemFieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True, help_text="Dotted path of the field at fault.")
    code = serializers.CharField()
    message = serializers.CharField()
    row = serializers.IntegerField(required=False, help_text="CSV row number, for imports.")


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    instance = serializers.CharField(allow_null=True)
    code = serializers.CharField(help_text="Stable, machine-readable error code.")
    request_id = serializers.CharField(allow_null=True)
    errors = ProblemFieldErrorSerializer(many=True, required=False)


_DESCRIPTIONS = {
    "400": "Invalid request (names the fields or parameters at fault)",
    "401": "Not authenticated, or the token is invalid, expired or revoked",
    "403": "Not allowed",
    "404": "Not found (or not visible to the caller)",
    "409": "Conflict with the current state",
    "412": "If-Match does not match the current ETag",
    "413": "Request body too large",
    "415": "Unsupported media type (JSON only)",
    "429": "Too many requests",
    "503": "Database unavailable; retry later",
}


def strict_request_bodies(result, generator, request, public):
    """Request components say what the server enforces: unknown fields are a 400 (StrictSerializer)."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    return result


def platform_user_shape(result, generator, request, public):
    """On the platform's schema (base domain), users are platform staff: the shape of PlatformUserSerializer,
    without the tenant's `organizations` (the views pick the serializer by schema: user_serializer_class)."""
    from django.conf import settings

    if getattr(request, "urlconf", None) != settings.PUBLIC_SCHEMA_URLCONF:
        return result
    from users.api.serializers import PlatformUserSerializer, UserSerializer

    dropped = set(UserSerializer.Meta.fields) - set(PlatformUserSerializer.Meta.fields)
    for name in ("User", "PatchedUserRequest", "UserRequest"):
        component = result.get("components", {}).get("schemas", {}).get(name)
        if component:
            for field in dropped:
                component.get("properties", {}).pop(field, None)
            if "required" in component:
                component["required"] = [field for field in component["required"] if field not in dropped]
    return result


def nullable_references(result, generator, request, public):
    """A nullable field whose type is a component (`actor`: an Actor or null) as that component inlined with
    `nullable: true`. drf-spectacular writes `{allOf: [{$ref}], nullable: true}`, which OpenAPI 3.0 validators
    and generated clients read as non-nullable (`nullable` applies to a schema's own `type`, and the
    component's says object)."""
    schemas = result.get("components", {}).get("schemas", {})

    def rewrite(node):
        if isinstance(node, dict):
            all_of = node.get("allOf")
            if node.get("nullable") and isinstance(all_of, list) and len(all_of) == 1 and "$ref" in all_of[0]:
                component = schemas[all_of[0]["$ref"].rsplit("/", 1)[-1]]
                rest = {key: value for key, value in node.items() if key != "allOf"}
                node.clear()
                node.update({**component, **rest})
            for value in node.values():
                rewrite(value)
        elif isinstance(node, list):
            for value in node:
                rewrite(value)

    rewrite(result.get("paths", {}))
    rewrite(schemas)
    return result


def creation_links(result, generator, request, public):
    """OpenAPI links from each create (POST on a collection, 201) to the operations on what it made, so that
    clients and stateful testers can chain them: POST /users -> GET/PATCH/DELETE /users/{id}, ... ."""
    paths = result.get("paths", {})
    schemas = result.get("components", {}).get("schemas", {})
    for collection, operations in paths.items():
        created = operations.get("post", {}).get("responses", {}).get("201")
        if not created:
            continue
        ref = created.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
        properties = schemas.get(ref.rsplit("/", 1)[-1], {}).get("properties", {})
        pointer = (
            "$response.body#/id" if "id" in properties else "$response.body#/user/id" if "user" in properties else None
        )
        if pointer is None:
            continue
        links = {}
        for path, targets in paths.items():
            match = re.fullmatch(re.escape(collection) + r"/\{(\w+)\}(/.*)?", path)
            if not match or "{" in (match.group(2) or ""):  # only operations whose parameters the link fills
                continue
            parameters = {match.group(1): pointer}
            parameters.update({name: f"$request.path.{name}" for name in re.findall(r"\{(\w+)\}", collection)})
            for method, operation in targets.items():
                if method in ("get", "put", "patch", "delete", "post") and "operationId" in operation:
                    links[operation["operationId"]] = {
                        "operationId": operation["operationId"],
                        "parameters": parameters,
                    }
        if links:
            created["links"] = links
    return result


class AutoSchema(openapi.AutoSchema):
    def _handler(self):
        name = getattr(self.view, "action", None) or self.method.lower()
        return getattr(self.view, name, None)

    def _is_idempotent(self) -> bool:
        return bool(getattr(self._handler(), "idempotent", False))

    def get_override_parameters(self):
        extra = [REQUEST_ID]
        if self._is_idempotent():
            extra.append(IDEMPOTENCY_KEY)
        return [*super().get_override_parameters(), *extra]

    def _get_response_headers_for_code(self, status_code, direction="response"):
        headers = super()._get_response_headers_for_code(status_code, direction)
        if str(status_code) == "201":
            headers.setdefault(
                "Location", {"schema": {"type": "string"}, "description": "The URL of the new resource."}
            )
            headers.setdefault("ETag", {"schema": {"type": "string"}, "description": "The new resource's ETag."})
        if self._is_idempotent() and str(status_code).startswith("2"):
            headers["Idempotent-Replayed"] = {
                "schema": {"type": "string", "enum": ["true"]},
                "description": "Present when this is the replay of an earlier response to the same Idempotency-Key.",
            }
        return headers

    def _error_codes(self) -> list[str]:
        codes = {"400", "503"}
        if self.method in ("POST", "PUT", "PATCH"):
            codes |= {"413", "415"}
        if not any(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            codes |= {"401", "403"}
        elif self.view.get_authenticate_header(self.view.request):
            codes.add("401")  # credentials in the body (login, refresh) can be refused
        if "{" in self.path or self._is_list_view():
            codes.add("404")  # a missing object, or a page past the last one
        if self.view.get_throttles():
            codes.add("429")
        if self.method in ("PUT", "PATCH", "DELETE"):
            codes |= {"409", "412"}
        if self.method == "POST" and self.view.get_authenticators():
            codes.add("409")  # creates (taken names, idempotency keys) and state transitions
        return sorted(codes)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        problem = self.resolve_serializer(ProblemSerializer, "response").ref
        for code in self._error_codes():
            headers = {}
            if code in ("429", "503"):
                headers["Retry-After"] = {"schema": {"type": "integer"}, "description": "Seconds to wait."}
            if code == "401":
                headers["WWW-Authenticate"] = {"schema": {"type": "string"}}
            responses.setdefault(
                code,
                {
                    "description": _DESCRIPTIONS[code],
                    "content": {PROBLEM_CONTENT_TYPE: {"schema": problem}},
                    **({"headers": headers} if headers else {}),
                },
            )
        return responses
