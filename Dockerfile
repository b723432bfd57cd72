# One image for web, worker and beat (docker-compose.yml runs it three ways).
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY pyproject.toml ./
RUN pip install "." && useradd --create-home --uid 1000 panel
COPY --chown=panel:panel . .

# collectstatic needs settings but no secrets or database: give it throwaway values at build time
# (DEBUG=0 insists on a shared cache: one is named, never used).
RUN DEBUG=0 SECRET_KEY=build-only-not-secret DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    CACHE_URL=dbcache://panel_cache \
    python manage.py collectstatic --noinput && mkdir -p /app/var && chown -R panel:panel /app/var

USER panel
EXPOSE 8000
# Path only in the access log (%(U)s): API keys may travel in query strings.
CMD ["gunicorn", "panel.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-", \
     "--access-logformat", "%(h)s %(t)s \"%(m)s %(U)s\" %(s)s %(b)s %(L)s"]
