"""The project's URLs: the customer site, the staff admin, the API v2 for resellers."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from accounts import two_factor_views
from accounts import views as accounts_views
from panel import api_v2, staff, views

urlpatterns = [
    path(settings.ADMIN_URL, admin.site.urls),
    # Django's set_language, plus the profile of a logged-in customer (the header's switch).
    path("i18n/setlang/", accounts_views.language_set, name="set_language"),
    path("i18n/", include("django.conf.urls.i18n")),
    # Django's login with the customer's saved language; the other auth views as Django has them.
    path("accounts/login/", accounts_views.PanelLoginView.as_view(), name="login"),
    # Rate limited per client address, e-mail address and account (one e-mail per request).
    path(
        "accounts/password_reset/",
        accounts_views.PanelPasswordResetView.as_view(),
        name="password_reset",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("healthz", views.healthz, name="healthz"),
    # Staff set up their second factor here before the admin lets them in (ADMIN_REQUIRE_2FA).
    path("security/two-factor/", two_factor_views.two_factor_setup, name="two_factor_setup"),
    path("api/v2", api_v2.endpoint, name="api_v2"),
    path("api/v2/", api_v2.endpoint),  # clients configured with a trailing slash
    path("api/", api_v2.docs, name="api_docs"),
    path("staff/", staff.dashboard, name="staff_dashboard"),
    path("", views.dashboard, name="dashboard"),
    path("", include("accounts.urls")),
    path("", include("billing.urls")),
    path("", include("catalog.urls")),
    path("", include("orders.urls")),
    path("", include("content.urls")),
    path("", include("support.urls")),
]
