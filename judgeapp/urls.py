from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from judgeapp.views import healthz, home

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("", home, name="home"),  # the overview for leads, the project list for annotators
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/", include("annotations.api_urls")),
    path("api/", include("analysis.api_urls")),
    path("", include("analysis.urls")),
    path("", include("annotations.urls")),
]
