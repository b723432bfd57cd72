"""One settings module, driven by the environment (and a `.env` file when present).

Production differs from development only through the environment: see `.env.example`
for every variable. A bad value fails loudly at start-up rather than at the first request.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from panel.proxy import parse_networks

# Generic classes of Django (`admin.ModelAdmin[Wallet]`, `QuerySet[Order]`) subscriptable at run
# time, as the type checker (mypy --strict with django-stubs) wants them written.
django_stubs_ext.monkeypatch()

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
    # Customers apart from their money: API keys, profiles, sign-up and the login pages.
    "accounts",
    "orders",
    # The shop's pages (FAQ, terms, refund policy, contact) and announcements; support tickets.
    "content",
    "support",
    # Two-factor authentication for staff (authenticator apps and backup codes) and the login
    # lockout; see "Login protection" below.
    "django_otp",
    "panel.otp_apps.TOTPConfig",  # django_otp.plugins.otp_totp, with a readable name
    "panel.otp_apps.StaticConfig",  # django_otp.plugins.otp_static, likewise
    "axes",
]

MIDDLEWARE = [
    # First: forwarded headers from anyone but TRUSTED_PROXIES are dropped before they are read.
    "panel.proxy.ForwardedHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): after authentication
    # Signed-in pages: Cache-Control private, no-store (after authentication: reads request.user).
    "panel.middleware.PrivatePagesMiddleware",
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
                "support.context_processors.unread",
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

# The cache. Every process of the panel must see the same one: the rate limits count in it
# (panel/ratelimit.py), and a per-process cache would let each gunicorn worker count on its own.
# - Embedded default (no CACHE_URL): files under var/cache/, shared by every process of `make run`
#   with no server (panel/cache.py makes its counters exact across processes). One machine only.
# - Production: Redis (CACHE_URL=redis://...) or the database cache (CACHE_URL=dbcache://panel_cache,
#   a table in the panel's database, created by `migrate`); the panel refuses to start with
#   DEBUG=0 on anything else. Nothing whose correctness matters lives in the cache (prices,
#   idempotency and locks are database rows): it holds only what may be lost.
CACHES = {"default": env.cache("CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}")}
_CACHE_BACKENDS = {
    # Django's own file and database caches increment by get-then-set, which loses concurrent
    # increments: the panel's subclasses are atomic across processes.
    "django.core.cache.backends.filebased.FileBasedCache": "panel.cache.FileCache",
    "django.core.cache.backends.db.DatabaseCache": "panel.cache.DatabaseCache",
}
for _cache in CACHES.values():
    _cache["BACKEND"] = _CACHE_BACKENDS.get(_cache["BACKEND"], _cache["BACKEND"])
SHARED_CACHE_BACKENDS = (
    "django.core.cache.backends.redis.RedisCache",
    "django_redis.cache.RedisCache",
    "panel.cache.DatabaseCache",
)
if not DEBUG and CACHES["default"]["BACKEND"] not in SHARED_CACHE_BACKENDS:
    raise ImproperlyConfigured(
        "With DEBUG=0 the cache must be shared by every process and machine: set CACHE_URL to "
        "Redis (redis://host:6379/1) or to the database cache (dbcache://panel_cache). "
        f"{CACHES['default']['BACKEND']} is per process or per machine."
    )

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
# The language cookie like the others: sent only over HTTPS in production, never cross-site.
LANGUAGE_COOKIE_SECURE = not DEBUG
LANGUAGE_COOKIE_SAMESITE = "Lax"
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
# The currency the upstream account is kept in: a `balance`, `services` or `status` answer in
# another currency is refused for pricing and syncing (issue 11), never converted silently.
SIEULIKE_CURRENCY = env.str("SIEULIKE_CURRENCY", default="VND").strip().upper()
# How long the poll may be unable to decide about an order (unknown to the upstream, missing
# from answers, an unknown status word, a final status without a usable count) or about a
# refill / cancel request, before it goes to "needs attention" on the staff dashboard.
ORDER_ATTENTION_AFTER_MINUTES = env.int("ORDER_ATTENTION_AFTER_MINUTES", default=60)
if ORDER_ATTENTION_AFTER_MINUTES < 1:
    raise ImproperlyConfigured("ORDER_ATTENTION_AFTER_MINUTES must be at least 1.")

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

# Top-ups that confirm themselves (issue 14): bank-transfer notifications from SePay and Casso,
# see README "Automatic top-ups". An empty key switches its receiver off (it answers 404).
SEPAY_WEBHOOK_KEY = env.str("SEPAY_WEBHOOK_KEY", default="")
CASSO_CHECKSUM_KEY = env.str("CASSO_CHECKSUM_KEY", default="")
# Casso signs a timestamp: older (or further in the future) than this is a replay and refused.
CASSO_TIMESTAMP_TOLERANCE_SECONDS = env.int("CASSO_TIMESTAMP_TOLERANCE_SECONDS", default=300)
# Every customer's permanent deposit code is this prefix and 6 characters.
DEPOSIT_CODE_PREFIX = env.str("DEPOSIT_CODE_PREFIX", default="NT").strip().upper()
# "1000000:3,5000000:5": +3 % from 1.000.000 ₫, +5 % from 5.000.000 ₫. Empty: no bonus.
DEPOSIT_BONUS_TIERS = env.str("DEPOSIT_BONUS_TIERS", default="")
# A request nobody paid stops counting as announced money after this many hours.
TOPUP_EXPIRE_HOURS = env.int("TOPUP_EXPIRE_HOURS", default=24)
try:
    from billing.deposits import parse_bonus_tiers, validate_prefix

    validate_prefix(DEPOSIT_CODE_PREFIX)
    parse_bonus_tiers(DEPOSIT_BONUS_TIERS)
except ValueError as _exc:
    raise ImproperlyConfigured(str(_exc)) from _exc
if TOPUP_EXPIRE_HOURS < 1:
    raise ImproperlyConfigured("TOPUP_EXPIRE_HOURS must be at least 1.")
# The demo bank of `make run`: a button on the top-up page that sends a signed SePay notification.
# It mints money, so it exists only in development against the sandbox upstream.
BANK_DEMO = (
    env.bool("BANK_DEMO", default=False)
    and DEBUG
    and SIEULIKE_API_KEY == "sandbox-key"
    and bool(SEPAY_WEBHOOK_KEY)
)
# issue 15: a second open order on the same link and service. The form always warns and asks
# to confirm; the API refuses it unless `confirm_same_link=1` ("refuse") or places it with a
# `warning` in its answer ("warn", the default: resellers' scripts written before this setting
# re-order links on purpose and would otherwise break).
ORDER_SAME_LINK = env.str("ORDER_SAME_LINK", default="warn")
if ORDER_SAME_LINK not in ("warn", "refuse"):
    raise ImproperlyConfigured("ORDER_SAME_LINK must be 'warn' or 'refuse'.")

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
# Password resets (e-mails sent): per client address per minute, and per e-mail address and per
# account per hour (0 switches one off). Like sign-ups, a reset costs the shop an e-mail.
PASSWORD_RESET_RATE_LIMIT_PER_MINUTE = env.int("PASSWORD_RESET_RATE_LIMIT_PER_MINUTE", default=5)
PASSWORD_RESET_PER_ACCOUNT_PER_HOUR = env.int("PASSWORD_RESET_PER_ACCOUNT_PER_HOUR", default=3)
# The proxies in front of the app (addresses or networks, e.g. "10.0.0.5,172.28.0.0/24"). Forwarded
# headers (X-Forwarded-For, X-Forwarded-Proto, ...) are believed only from them (panel/proxy.py);
# from anyone else, the client is the socket's address. Empty: no forwarded header is believed.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
try:
    _trusted_networks = parse_networks(TRUSTED_PROXIES)
except ValueError as exc:
    raise ImproperlyConfigured(f"TRUSTED_PROXIES: {exc}.") from None
# Referrals (billing/referrals.py): the referrer's commission, a percentage of what a customer they
# referred spends (on each ended order: charge less refund), and the smallest amount of
# commission a customer may move to their balance at a time.
try:
    REFERRAL_COMMISSION_PERCENT = Decimal(env.str("REFERRAL_COMMISSION_PERCENT", default="5"))
    REFERRAL_MIN_MOVE = Decimal(env.str("REFERRAL_MIN_MOVE", default="50000"))
    _referral_ok = 0 <= REFERRAL_COMMISSION_PERCENT < 100 and 0 <= REFERRAL_MIN_MOVE
except InvalidOperation:
    _referral_ok = False
if not _referral_ok:
    raise ImproperlyConfigured(
        "REFERRAL_COMMISSION_PERCENT must be a number from 0 to below 100, REFERRAL_MIN_MOVE a "
        "number of đồng, 0 or more."
    )

# Login protection (panel/security.py). django-axes counts failed logins, on the customer login
# and the admin login alike, per username AND client address: a guesser is stopped after
# AXES_FAILURE_LIMIT tries, while the real customer, from their own address, can still log in
# (locking by username alone would let anyone lock any customer out). The address is the one
# the API's rate limits use (TRUSTED_PROXIES), so both agree on who the client is.
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

# Support tickets (support/). New tickets a minute per customer and replies a minute per customer
# (in the shared cache; 0 switches a limit off), and tickets a customer may have open at once
# (counted in the database under a lock of the customer's row: exact across web processes).
SUPPORT_TICKET_RATE_LIMIT_PER_MINUTE = env.int("SUPPORT_TICKET_RATE_LIMIT_PER_MINUTE", default=3)
SUPPORT_MESSAGE_RATE_LIMIT_PER_MINUTE = env.int("SUPPORT_MESSAGE_RATE_LIMIT_PER_MINUTE", default=10)
SUPPORT_MAX_OPEN_TICKETS = env.int("SUPPORT_MAX_OPEN_TICKETS", default=10)
