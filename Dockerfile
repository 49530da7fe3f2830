# smsdesk container image: the wheel is built once, with Node.js, in the build stage (it carries the web UI and
# the npm `cometd` client); the runtime stage installs only that wheel and runs as a non-root user.
#   docker build -t smsdesk .
#   docker run -p 8080:8080 smsdesk demo --host 0.0.0.0      # a try-out with demo data (SQLite in the container)
# Production shape (PostgreSQL, Redis, two nodes, nginx with TLS): compose.yaml and README "Run in production".

ARG PYTHON_VERSION=3.12

FROM python:${PYTHON_VERSION}-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir uv
WORKDIR /src
COPY . .
RUN uv build --wheel --out-dir /dist

FROM python:${PYTHON_VERSION}-slim AS runtime
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/smsdesk --create-home smsdesk
COPY --from=build /dist/ /tmp/dist/
RUN pip install --no-cache-dir /tmp/dist/smsdesk-*.whl && rm -rf /tmp/dist
COPY deploy/entrypoint.sh /usr/local/bin/smsdesk-entrypoint
USER smsdesk
WORKDIR /var/lib/smsdesk
ENV SMSDESK_HOST=0.0.0.0 \
    SMSDESK_PORT=8080 \
    SMSDESK_DATABASE_URL=sqlite:////var/lib/smsdesk/smsdesk.db \
    PYTHONUNBUFFERED=1
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('SMSDESK_PORT', '8080'), timeout=4)"]
ENTRYPOINT ["smsdesk-entrypoint"]
CMD ["serve"]
