"""The project's URLs: the customer site, the staff admin, the API v2 for resellers."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from panel import views

urlpatterns = [
    path(settings.ADMIN_URL, admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("", views.dashboard, name="dashboard"),
    path("", include("billing.urls")),
    path("", include("catalog.urls")),
    path("", include("orders.urls")),
]
