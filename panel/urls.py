"""The project's URLs: the customer site, the staff admin, the API v2 for resellers."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from panel import api_v2, views

urlpatterns = [
    path(settings.ADMIN_URL, admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("api/v2", api_v2.endpoint, name="api_v2"),
    path("api/v2/", api_v2.endpoint),  # clients configured with a trailing slash
    path("api/", api_v2.docs, name="api_docs"),
    path("", views.dashboard, name="dashboard"),
    path("", include("billing.urls")),
    path("", include("catalog.urls")),
    path("", include("orders.urls")),
]
