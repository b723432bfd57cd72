from __future__ import annotations

from django.urls import path

from . import views

app_name = "support"

urlpatterns = [
    path("support/", views.ticket_list, name="list"),
    path("support/new/", views.ticket_new, name="new"),
    path("support/<int:ticket_id>/", views.ticket_detail, name="detail"),
    path("support/<int:ticket_id>/reply/", views.ticket_reply_view, name="reply"),
    path("support/<int:ticket_id>/close/", views.ticket_close_view, name="close"),
    # Staff, beside the staff dashboard at /staff/.
    path("staff/support/", views.staff_ticket_list, name="staff_list"),
    path("staff/support/<int:ticket_id>/", views.staff_ticket_detail, name="staff_detail"),
    path("staff/support/<int:ticket_id>/reply/", views.staff_ticket_reply, name="staff_reply"),
    path("staff/support/<int:ticket_id>/assign/", views.staff_ticket_assign, name="staff_assign"),
    path("staff/support/<int:ticket_id>/close/", views.staff_ticket_close, name="staff_close"),
    path(
        "staff/support/<int:ticket_id>/order-action/",
        views.staff_ticket_order_action,
        name="staff_order_action",
    ),
]
