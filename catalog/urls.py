from __future__ import annotations

from django.urls import path

from . import views

app_name = "catalog"

urlpatterns = [
    path("services/", views.catalog_list, name="list"),
    path("services/updates/", views.catalog_updates, name="updates"),
    path("services/<int:service_id>/favourite/", views.favourite_toggle_view, name="favourite"),
]
