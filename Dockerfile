# The judgeapp image: web (gunicorn), Celery worker and beat all run from it (docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Settings refuse DEBUG off without a SECRET_KEY; collectstatic needs neither a database nor
# the real key, so the build uses a throwaway one that never reaches the running containers.
RUN DEBUG=0 SECRET_KEY=collectstatic-only python manage.py collectstatic --no-input

# Uploaded import files live in MEDIA_ROOT, a volume shared by web and worker.
RUN useradd --system --uid 10001 --no-create-home judgeapp \
    && mkdir -p /app/media \
    && chown judgeapp /app/media
ENV MEDIA_ROOT=/app/media
USER judgeapp

EXPOSE 8000
# No control socket: it would go under the home directory, which the app user does not have.
CMD ["gunicorn", "judgeapp.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--access-logfile", "-", "--no-control-socket"]
