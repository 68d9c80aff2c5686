# Build a static binary, then ship it alone on a minimal base.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/mangabot/mangabot/pipeline.Version=${VERSION}" -o /out/bot ./cmd/bot

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bot /bot
COPY config.example.toml /etc/mangabot/config.example.toml
# Finished files, temp files and (later) the job store live here.
VOLUME ["/data"]
WORKDIR /data
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/bot"]
CMD ["run", "-config", "/etc/mangabot/config.toml"]
