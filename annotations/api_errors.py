"""DRF exception handler: a DomainError becomes a 400 with its message and line errors."""

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from annotations.errors import DomainError


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        return Response({"detail": exc.message, "errors": exc.errors}, status=400)
    return drf_exception_handler(exc, context)
