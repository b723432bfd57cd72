from __future__ import annotations

from django.urls import path

from . import views

app_name = "content"

urlpatterns = [
    path("faq/", views.faq, name="faq"),
    path("terms/", views.terms, name="terms"),
    path("refund-policy/", views.refund_policy, name="refund"),
    path("contact/", views.contact, name="contact"),
    path(
        "announcements/<int:announcement_id>/dismiss/",
        views.announcement_dismiss_view,
        name="announcement_dismiss",
    ),
]
