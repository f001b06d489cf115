from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from annotations import user_tokens
from judgeapp.views import healthz, home

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Browsers and feed readers ask for /favicon.ico whatever the page links.
    path(
        "favicon.ico",
        RedirectView.as_view(url=static("judgeapp/favicon.ico"), permanent=True),
        name="favicon",
    ),
    path("", home, name="home"),  # the overview for leads, the project list for annotators
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/tokens/", user_tokens.tokens, name="tokens"),
    path("account/tokens/revoke/", user_tokens.token_revoke, name="token-revoke"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its script as a file, so no inline script is needed (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("annotations.api_urls")),
    path("api/", include("analysis.api_urls")),
    path("", include("analysis.urls")),
    path("", include("annotations.urls")),
]
