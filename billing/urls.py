from __future__ import annotations

from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    # Beside Django's own /accounts/ views (login, logout, password reset) from panel/urls.py.
    path("accounts/signup/", views.signup, name="signup"),
    path("account/", views.account, name="account"),
    path("account/api-key/", views.api_key_regenerate_view, name="api_key_regenerate"),
    path("transactions/", views.transactions, name="transactions"),
    path("topup/", views.topup, name="topup"),
    path("topup/<str:reference>/", views.topup_detail, name="topup_detail"),
    path("topup/<str:reference>/qr.svg", views.topup_qr, name="topup_qr"),
    path("r/<str:code>/", views.referral_visit, name="referral_visit"),
    path("referrals/", views.referral_page, name="referrals"),
    path("referrals/move/", views.commission_move_view, name="commission_move"),
]
