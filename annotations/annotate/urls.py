from django.urls import path

from annotations.annotate import views

app_name = "annotate"

urlpatterns = [
    path("<slug:slug>/", views.queue, name="queue"),
    path("<slug:slug>/next/", views.next_item, name="next"),
    path("<slug:slug>/previous/", views.previous, name="previous"),
    path("<slug:slug>/guidelines/", views.guidelines, name="guidelines"),
    path("<slug:slug>/items/<int:item_id>/", views.item_detail, name="item"),
    path("<slug:slug>/items/<int:item_id>/submit/", views.item_submit, name="submit"),
    path("<slug:slug>/items/<int:item_id>/skip/", views.item_skip, name="skip"),
    path("<slug:slug>/items/<int:item_id>/flag/", views.item_flag, name="flag"),
    path("<slug:slug>/lead/", views.lead, name="lead"),
    path("<slug:slug>/lead/settings/", views.lead_settings, name="lead-settings"),
    path("<slug:slug>/lead/annotators/", views.lead_annotator_add, name="lead-annotator-add"),
    path("<slug:slug>/lead/gold/", views.lead_gold_set, name="lead-gold-set"),
    path(
        "<slug:slug>/lead/flags/<int:assignment_id>/release/",
        views.lead_flag_release,
        name="lead-flag-release",
    ),
]
