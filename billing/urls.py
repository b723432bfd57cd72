from __future__ import annotations

from django.urls import path

from . import views, webhooks

app_name = "billing"

urlpatterns = [
    path("transactions/", views.transactions, name="transactions"),
    path("topup/", views.topup, name="topup"),
    # Before the request pages: "deposit-code" would otherwise be taken for a reference.
    path("topup/deposit-code/qr.svg", views.deposit_qr, name="deposit_qr"),
    path("topup/recent/", views.topup_recent, name="topup_recent"),
    path("topup/<str:reference>/", views.topup_detail, name="topup_detail"),
    path("topup/<str:reference>/qr.svg", views.topup_qr, name="topup_qr"),
    # issue 14: automatic top-ups
    path("topup/<str:reference>/status/", views.topup_status, name="topup_status"),
    path("topup/<str:reference>/cancel/", views.topup_cancel_view, name="topup_cancel"),
    path("topup/<str:reference>/demo-pay/", webhooks.demo_pay, name="topup_demo_pay"),
    path("webhooks/sepay/", webhooks.sepay, name="webhook_sepay"),
    path("webhooks/casso/", webhooks.casso, name="webhook_casso"),
    path("r/<str:code>/", views.referral_visit, name="referral_visit"),
    path("referrals/", views.referral_page, name="referrals"),
    path("referrals/move/", views.commission_move_view, name="commission_move"),
]
