from django.urls import path

from annotations import api

app_name = "api"

urlpatterns = [
    path("projects/", api.ProjectListApi.as_view(), name="project-list"),
    path("projects/<slug:slug>/imports/", api.ImportCreateApi.as_view(), name="import-create"),
    path("imports/<int:job_id>/", api.ImportDetailApi.as_view(), name="import-detail"),
]
