"""Reference views: what a typical DRF project ships, measured beside P360's own endpoints."""

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters, generics, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from users.models import User


class NoDatabaseView(APIView):
    """The ceiling: a DRF view behind P360's middleware that touches no database."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"status": "ok"})


class NaiveUserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = [
            "id", "email", "first_name", "last_name", "role", "status", "job_title", "phone", "timezone", "locale",
            "last_login", "created_at", "updated_at",
        ]  # fmt: skip


class NaivePagination(PageNumberPagination):
    page_size = 25


class NaiveUserList(generics.ListAPIView):
    """The textbook list: page numbers (count(*)), SearchFilter (icontains), OrderingFilter, filterset_fields."""

    queryset = User.objects.all()
    serializer_class = NaiveUserSerializer
    pagination_class = NaivePagination
    filter_backends = [DjangoFilterBackend, filters.SearchFilter, filters.OrderingFilter]
    filterset_fields = ["status", "role"]
    search_fields = ["first_name", "last_name", "email"]
    ordering_fields = ["email", "first_name", "last_name", "created_at"]
    ordering = ["-created_at"]
