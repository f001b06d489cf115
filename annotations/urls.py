from django.urls import include, path

from annotations import views

app_name = "annotations"

urlpatterns = [
    path("", views.project_list, name="project-list"),
    path("projects/<slug:slug>/", views.project_detail, name="project-detail"),
    path("projects/<slug:slug>/imports/", views.import_create, name="import-create"),
    path("projects/<slug:slug>/audit/", views.audit_log, name="audit-log"),
    path("projects/<slug:slug>/exports/", views.exports, name="exports"),
    path("exports/<int:export_id>/status/", views.export_status, name="export-status"),
    path("exports/<int:export_id>/download/", views.export_download, name="export-download"),
    path("imports/format/", views.import_format, name="import-format"),
    path("imports/<int:job_id>/", views.import_detail, name="import-detail"),
    path("imports/<int:job_id>/status/", views.import_status, name="import-status"),
    path("annotate/", include("annotations.annotate.urls")),
    path("", include("annotations.judges.urls")),
    path("", include("annotations.review.urls")),
]
