from django.urls import path

from analysis import views
from analysis.overview import views as overview_views
from analysis.qc import views as qc_views

app_name = "analysis"

urlpatterns = [
    path("projects/<slug:slug>/reports/", views.run_list, name="run-list"),
    path("projects/<slug:slug>/reports/new/", views.run_create, name="run-create"),
    path("overview/", overview_views.overview, name="overview"),
    path("overview/live/", overview_views.overview_live, name="overview-live"),
    path("projects/<slug:slug>/qc/", qc_views.qc, name="qc"),
    path("projects/<slug:slug>/qc/move/", qc_views.qc_move, name="qc-move"),
    path("reports/<int:run_id>/", views.run_detail, name="run-detail"),
    path("reports/<int:run_id>/status/", views.run_status, name="run-status"),
    path("reports/<int:run_id>/<str:name>", views.report_download, name="run-download"),
]
