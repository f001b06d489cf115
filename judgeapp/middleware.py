"""Site-wide middleware: a broker outage answered as a clear 503, never a 500."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from judgeapp.jobs import JobQueueUnavailable


class JobQueueUnavailableMiddleware:
    """A job was saved but the broker could not take its message: say so (503, with a
    Retry-After) instead of a server error. The reaper sends the job when the broker is back.

    DRF hands exceptions it does not know back to Django, so one place covers pages and API.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, JobQueueUnavailable):
            return None
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": exception.message}, status=503)
        else:
            context = {"message": exception.message}
            response = render(request, "queue_unavailable.html", context, status=503)
        response["Retry-After"] = "60"
        return response


class PermissionsPolicyMiddleware:
    """Turn off browser features no page uses (Django sets the other security headers; it
    has no setting for this one, and one header is not worth a dependency)."""

    POLICY = ", ".join(
        f"{feature}=()"
        for feature in (
            "accelerometer",
            "camera",
            "geolocation",
            "gyroscope",
            "magnetometer",
            "microphone",
            "payment",
            "usb",
            "interest-cohort",
        )
    )

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", self.POLICY)
        return response
