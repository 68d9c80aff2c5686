# Build a static binary, then ship it alone on a minimal base.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN sh scripts/build-static.sh /out/bot "${VERSION}" && mkdir -p /out/data

# Variant with Chromium, for readers that build their pages with scripts:
#   docker build --target chromium -t mangabot:chromium .
# (several hundred MB larger: chromium alone installs ~290 MB). The default
# image below stays small.
FROM debian:bookworm-slim AS chromium
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium ca-certificates fonts-liberation \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 65532 --user-group --no-create-home --home-dir /data nonroot
# As the default image, plus the browser turned on; Chromium's temporary
# profiles go to TMPDIR and are removed on exit.
ENV MANGABOT_BROWSER_ENABLED=true MANGABOT_BROWSER_PATH=/usr/bin/chromium TMPDIR=/tmp \
    MANGABOT_OUTPUT_DIR=/data/output MANGABOT_STORAGE_PATH=/data/mangabot.db \
    MANGABOT_OUTPUT_LISTEN=:8080 MANGABOT_OUTPUT_METRICS_LISTEN=:9090
COPY config.example.toml /etc/mangabot/config.example.toml
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build /out/bot /bot
WORKDIR /data
VOLUME ["/data"]
USER nonroot:nonroot
EXPOSE 8080 9090
ENTRYPOINT ["/bot"]
CMD ["run"]

# The default image: the static binary alone.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bot /bot
COPY config.example.toml /etc/mangabot/config.example.toml
# /data must belong to the non-root user before it becomes a volume: a new
# named volume copies this ownership, so the bot can write its files.
COPY --from=build --chown=65532:65532 /out/data /data
USER nonroot:nonroot
# Finished files, temp files, the job store and config.toml (if you mount
# one) live here; the bot reads ./config.toml from its working directory.
VOLUME ["/data"]
WORKDIR /data
# Any key can be set as MANGABOT_<SECTION>_<KEY>; these suit the image.
ENV MANGABOT_OUTPUT_DIR=/data/output \
    MANGABOT_STORAGE_PATH=/data/mangabot.db \
    MANGABOT_OUTPUT_LISTEN=:8080 \
    MANGABOT_OUTPUT_METRICS_LISTEN=:9090
# 8080: download links; 9090: /metrics and /healthz (publish it privately).
EXPOSE 8080 9090
ENTRYPOINT ["/bot"]
CMD ["run"]
