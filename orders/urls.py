from __future__ import annotations

from django.urls import path

from . import views

app_name = "orders"

urlpatterns = [
    path("orders/", views.order_list, name="list"),
    path("orders/new/", views.order_new, name="new"),
    path("orders/new/services/", views.picker_services_json, name="picker_services"),
    path("orders/new/card/", views.service_card_fragment, name="service_card"),
    path("orders/new/same-link/", views.same_link_json, name="same_link"),
    path("orders/mass/", views.order_mass, name="mass"),
    path("orders/status/", views.order_status_fragment, name="status_fragment"),
    path("orders/refills/", views.refill_list, name="refills"),
    path("orders/<int:order_id>/", views.order_detail, name="detail"),
    path("orders/<int:order_id>/refill/", views.order_refill, name="refill"),
    path("orders/<int:order_id>/cancel/", views.order_cancel, name="cancel"),
]
