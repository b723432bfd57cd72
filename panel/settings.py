"""One settings module, driven by the environment (and a `.env` file when present).

Production differs from development only through the environment: see `.env.example`
for every variable. A bad value fails loudly at start-up rather than at the first request.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def env_bool(name: str, *, default: bool) -> bool:
    """A boolean variable that refuses anything but a clear yes or no (django-environ
    reads "maybe" as False, which would hide a typo in production)."""
    raw = env.str(name, default=str(default)).strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no, on/off)."
    )


DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (see .env.example).")
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # django.contrib.admin, with a site that asks staff for a second factor (panel/security.py).
    "panel.security.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "panel",
    "catalog",
    "billing",
    "orders",
    # Two-factor authentication for staff (authenticator apps and backup codes) and the login
    # lockout; see "Login protection" below.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): after authentication
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Last, as django-axes asks: it turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "panel.urls"
WSGI_APPLICATION = "panel.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "billing.context_processors.wallet",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite serialises writers; a generous timeout and IMMEDIATE transactions keep the
    # embedded setup (web + worker + beat on one file) from failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://panel")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out username+address before the password is even
# checked (and raises nothing for anyone else); ModelBackend then does the real work.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Internationalisation: Vietnamese first, English too; the shop lives in Vietnam.
LANGUAGE_CODE = "vi"
# Each language named in itself, untranslated: a reader finds their own language in any UI.
LANGUAGES = [("vi", "Tiếng Việt"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True
CURRENCY = "VND"

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND",
            default="django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}

# E-mail through Django 6.1's MAILERS: the console by default, SMTP from EMAIL_URL.
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="panel@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Who is e-mailed when something needs the shop (the upstream account running out of funds).
ADMINS = env.list("ADMINS", default=[])
if env.str("EMAIL_URL", default=""):
    _mail = env.email_url("EMAIL_URL")
    MAILERS = {
        "default": {
            "BACKEND": _mail["EMAIL_BACKEND"],
            "OPTIONS": {
                "host": _mail.get("EMAIL_HOST", "localhost"),
                "port": _mail.get("EMAIL_PORT", 25),
                "username": _mail.get("EMAIL_HOST_USER", ""),
                "password": _mail.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": bool(_mail.get("EMAIL_USE_TLS")),
                "use_ssl": bool(_mail.get("EMAIL_USE_SSL")),
            },
        }
    }
else:
    MAILERS = {
        "default": {
            # Printed to the console on a developer's machine; production mails through a local
            # relay on port 25 unless EMAIL_URL says otherwise (check --deploy wants a real one).
            "BACKEND": env.str(
                "EMAIL_BACKEND",
                default="django.core.mail.backends.console.EmailBackend"
                if DEBUG
                else "django.core.mail.backends.smtp.EmailBackend",
            )
        }
    }

# Security: production values unless DEBUG says this is a developer's machine.
BEHIND_PROXY = env_bool("BEHIND_PROXY", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Django 6's built-in Content-Security-Policy. Every script and style is a file served by the
# project: no inline scripts, no CDN. QR codes are SVG images served by the project.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Celery. The embedded default needs no server: kombu's filesystem transport under var/.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery" / "queue"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# The upstream (sieulike API v2). make run points these at the sandbox when no key is set.
SIEULIKE_API_URL = env.url("SIEULIKE_API_URL", default="https://sieulike.vn/api/v2").geturl()
SIEULIKE_API_KEY = env.str("SIEULIKE_API_KEY", default="")
SIEULIKE_TIMEOUT = env.float("SIEULIKE_TIMEOUT", default=30.0)
SIEULIKE_CONNECT_TIMEOUT = env.float("SIEULIKE_CONNECT_TIMEOUT", default=3.05)
if not 0 < SIEULIKE_TIMEOUT <= 300:
    raise ImproperlyConfigured("SIEULIKE_TIMEOUT must be between 0 and 300 seconds.")

# Providers (issue 17). The provider SIEULIKE_* names is kept under this name; others are added
# with `provider_add` or in the admin. An order whose provider could not be reached this many
# times in a row (the request provably never accepted) moves to its service's next backup.
SIEULIKE_PROVIDER_NAME = "sieulike"
PROVIDER_FAILOVER_UNREACHABLE_ATTEMPTS = env.int(
    "PROVIDER_FAILOVER_UNREACHABLE_ATTEMPTS", default=3
)
if PROVIDER_FAILOVER_UNREACHABLE_ATTEMPTS < 1:
    raise ImproperlyConfigured("PROVIDER_FAILOVER_UNREACHABLE_ATTEMPTS must be at least 1.")

# The shop's bank account, shown on the top-up page with a VietQR code.
SHOP_BANK_BIN = env.str("SHOP_BANK_BIN", default="970436")
SHOP_BANK_NAME = env.str("SHOP_BANK_NAME", default="Vietcombank")
SHOP_BANK_ACCOUNT = env.str("SHOP_BANK_ACCOUNT", default="0123456789")
SHOP_BANK_ACCOUNT_NAME = env.str("SHOP_BANK_ACCOUNT_NAME", default="CONG TY SMM PANEL")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "panel.logging.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
ADMIN_URL = env.str("ADMIN_URL", default="admin/")
if not ADMIN_URL.endswith("/") or ADMIN_URL.startswith("/"):
    raise ImproperlyConfigured(
        'ADMIN_URL must look like "admin/" (no leading slash, one trailing slash).'
    )

# The panel's own API v2 for resellers (panel/api_v2.py). Limits per minute; 0 switches one off.
API_RATE_LIMIT_PER_MINUTE = env.int("API_RATE_LIMIT_PER_MINUTE", default=600)  # per customer
API_FAILED_AUTH_PER_MINUTE = env.int("API_FAILED_AUTH_PER_MINUTE", default=20)  # per client address
# Sign-ups in the browser per client address (0 switches the limit off).
SIGNUP_RATE_LIMIT_PER_MINUTE = env.int("SIGNUP_RATE_LIMIT_PER_MINUTE", default=5)
# Proxies in front of the app that append to X-Forwarded-For: the client address (for the limits
# above) is read that many entries from the right, never the spoofable left-most one.
TRUSTED_PROXY_HOPS = env.int("TRUSTED_PROXY_HOPS", default=1 if SECURE_PROXY_SSL_HEADER else 0)

# Login protection (panel/security.py). django-axes counts failed logins, on the customer login
# and the admin login alike, per username AND client address: a guesser is stopped after
# AXES_FAILURE_LIMIT tries, while the real customer, from their own address, can still log in
# (locking by username alone would let anyone lock any customer out). The address is the one
# the API's rate limits use (TRUSTED_PROXY_HOPS), so both agree on who the client is.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "panel.security.client_ip"
AXES_LOCKOUT_CALLABLE = "panel.security.lockout_response"
AXES_RESET_ON_SUCCESS = True  # a customer who finally types it right starts from zero again
# Failed logins are kept (until their cool-off ends); successful ones are not, or every
# customer login would add a row forever (User.last_login already says when).
AXES_DISABLE_ACCESS_LOG = True
if AXES_FAILURE_LIMIT < 1 or AXES_COOLOFF_TIME <= timedelta(0):
    raise ImproperlyConfigured("AXES_FAILURE_LIMIT and AXES_COOLOFF_MINUTES must be positive.")

# Two-factor authentication for the admin (django-otp): staff log in to the admin with a password
# and a code from an authenticator app (or a backup code), after enrolling at /security/two-factor/.
# On by default in production; off on a developer's machine (DEBUG=1) so that `make run`'s demo
# admin logs in with a password alone.
ADMIN_REQUIRE_2FA = env_bool("ADMIN_REQUIRE_2FA", default=not DEBUG)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="SMM Panel")
# The admin never shows a device's secret or its QR code: only its owner sees it, once, when
# enrolling. Another staff member who can open the device list cannot copy someone's second factor.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
