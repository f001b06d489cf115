from django.urls import path

from annotations import api
from annotations.annotate import api as annotate_api
from annotations.judges import api as judges_api

app_name = "api"

urlpatterns = [
    path("projects/", api.ProjectListApi.as_view(), name="project-list"),
    path("projects/<slug:slug>/imports/", api.ImportCreateApi.as_view(), name="import-create"),
    path("imports/<int:job_id>/", api.ImportDetailApi.as_view(), name="import-detail"),
]

# The annotator queue (annotations/annotate/api.py).
urlpatterns += [
    path(
        "projects/<slug:slug>/annotate/next/",
        annotate_api.AssignmentNextApi.as_view(),
        name="assignment-next",
    ),
    path(
        "projects/<slug:slug>/annotate/items/<int:item_id>/",
        annotate_api.AssignmentDetailApi.as_view(),
        name="assignment-detail",
    ),
    path(
        "projects/<slug:slug>/annotate/items/<int:item_id>/submit/",
        annotate_api.AssignmentSubmitApi.as_view(),
        name="assignment-submit",
    ),
    path(
        "projects/<slug:slug>/annotate/items/<int:item_id>/skip/",
        annotate_api.AssignmentSkipApi.as_view(),
        name="assignment-skip",
    ),
]

# External judges post as a model rater, with its token (annotations/judges/api.py).
urlpatterns += [
    path(
        "projects/<slug:slug>/judgements/bulk/",
        judges_api.JudgementBulkApi.as_view(),
        name="judgement-bulk",
    ),
]
