from __future__ import annotations

from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    # Beside Django's own /accounts/ views (login, logout, password reset) from panel/urls.py.
    path("accounts/signup/", views.signup, name="signup"),
    path("account/", views.account, name="account"),
    path("account/api-key/", views.api_key_regenerate_view, name="api_key_regenerate"),
]
