# The provider's container image: `idp serve --workers N` (granian), one image for every
# instance. Configuration comes from /etc/idp/idp.toml and IDP_<SECTION>_<KEY> variables;
# `compose.yaml` shows the production shape on one machine (docs/scaling.md, README).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    IDP_CONFIG=/etc/idp/idp.toml \
    IDP_WORKERS=2

# espeak-ng speaks the captcha in Persian (without it the audio challenge is hidden).
RUN apt-get update \
    && apt-get install -y --no-install-recommends espeak-ng \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /srv/idp --shell /usr/sbin/nologin idp

WORKDIR /srv/idp
COPY pyproject.toml README.md babel.cfg config.example.toml ./
COPY idp ./idp
COPY flows ./flows
COPY clients ./clients
COPY templates ./templates
# Editable: the templates folder sits beside the package, where the app looks for it.
RUN pip install -e . \
    && mkdir -p /etc/idp /var/lib/idp/keys /var/lib/idp/instance /var/lib/idp/outbox \
    && chown -R idp:idp /var/lib/idp
COPY deploy/idp.toml /etc/idp/idp.toml

USER idp
# IDP_PORT: where the instance listens (8000; another port where instances share the host's
# network, `docker run --network host -e IDP_PORT=8001`); the health check follows it.
ENV IDP_PORT=8000
EXPOSE 8000
# /healthz: the process answers; /readyz (database, Redis, keys) is for the load balancer.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/healthz' % os.environ['IDP_PORT'], timeout=2)"]
# SIGTERM: granian stops accepting, lets each worker finish the requests in flight (at most
# 30 s, idp/production.py), then exits; docker's stop grace period must be longer (compose: 40 s).
STOPSIGNAL SIGTERM
CMD ["sh", "-c", "exec idp serve --host 0.0.0.0 --port \"$IDP_PORT\" --workers \"$IDP_WORKERS\""]
