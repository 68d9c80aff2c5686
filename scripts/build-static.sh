#!/bin/sh
# The one build command: a static binary (no cgo), as the Dockerfile and
# .ci/run use it. Usage: scripts/build-static.sh OUT [VERSION]
set -eu
out=${1:?usage: build-static.sh OUT [VERSION]}
version=${2:-dev}
CGO_ENABLED=0 go build -trimpath \
	-ldflags "-s -w -X github.com/mangabot/mangabot/pipeline.Version=${version}" \
	-o "$out" ./cmd/bot
