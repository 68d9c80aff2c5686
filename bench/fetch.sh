#!/bin/sh
# Sliding window vs lock-step batches against a loopback server with
# heavy-tailed latency. Extra flags go to the program (see -h).
set -eu
cd "$(dirname "$0")/.."
exec go run ./bench/fetchbench "$@"
