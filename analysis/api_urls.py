from django.urls import path

from analysis import api

app_name = "analysis-api"

urlpatterns = [
    path("projects/<slug:slug>/agreement-runs/", api.RunCreateApi.as_view(), name="run-create"),
    path("agreement-runs/<int:run_id>/", api.RunDetailApi.as_view(), name="run-detail"),
    path("agreement-runs/<int:run_id>/<str:name>", api.RunFileApi.as_view(), name="run-file"),
]
