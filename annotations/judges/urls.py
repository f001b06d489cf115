from django.urls import path

from annotations.judges import views

app_name = "judges"

urlpatterns = [
    path("projects/<slug:slug>/judges/", views.judge_list, name="list"),
    path("projects/<slug:slug>/judges/tokens/", views.token_create, name="token-create"),
    path("judge-runs/<int:run_id>/", views.run_detail, name="run-detail"),
    path("judge-runs/<int:run_id>/status/", views.run_status, name="run-status"),
    path("judge-runs/<int:run_id>/cancel/", views.run_cancel, name="run-cancel"),
]
