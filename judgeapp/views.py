"""Site-level views."""

from django.contrib.auth.views import redirect_to_login
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from analysis.overview import selectors as overview_selectors
from analysis.overview import views as overview_views
from annotations import views as annotations_views


def home(request: HttpRequest) -> HttpResponse:
    """Leads and staff land on the overview of the projects they lead; annotators keep the
    list of their projects."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if overview_selectors.user_sees_overview(user=request.user):
        return overview_views.overview(request)
    return annotations_views.project_list(request)


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and docker-compose: the app answers and the database too."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})
