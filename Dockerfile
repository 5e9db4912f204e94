# One image for every service; docker-compose.yml picks the service with `python -m services.<name>`.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY infra ./infra
RUN pip install . \
    && useradd --system --uid 10001 --no-create-home app \
    && mkdir -p /app/var/data \
    && chown app /app/var /app/var/data

# Services need no root: they only listen on unprivileged ports and talk to Kafka and PostgreSQL.
USER app
CMD ["python", "-m", "services.coordinator"]
