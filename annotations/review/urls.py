from django.urls import path

from annotations.review import views

app_name = "review"

urlpatterns = [
    path("projects/<slug:slug>/review/targets/", views.target_list, name="targets"),
    path("projects/<slug:slug>/review/items/", views.item_list, name="items"),
    path("projects/<slug:slug>/review/items/<int:item_id>/", views.item_detail, name="item"),
]
