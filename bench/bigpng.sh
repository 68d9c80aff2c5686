#!/bin/sh
# Peak memory with huge pages: two 10000x10000 16-bit RGBA PNGs (~12 MB
# each, 800 MB each decoded). Measures pdf.WriteFiles with one job and
# with two jobs at once sharing the decode budget (bench/pdfwrite), and
# `bot fetch` of a loopback chapter of these pages, and `bot run` (against
# the fake Discord) with two such chapters requested at once. Peak RSS
# comes from /usr/bin/time (apt-get install time) and, for `bot run`, from
# the process's rusage (bench/botbig). Data lives under $WORK (default
# /tmp/bigpng). Prints a Markdown table.
set -eu
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/bigpng}
mkdir -p "$WORK"
go build -o "$WORK/pdfgen" ./bench/pdfgen
go build -o "$WORK/pdfwrite" ./bench/pdfwrite
go build -o "$WORK/e2eserve" ./bench/e2eserve
go build -o "$WORK/bot" ./cmd/bot
go build -o "$WORK/botbig" ./bench/botbig
[ "$(ls "$WORK/pages" 2>/dev/null | wc -l)" -eq 2 ] || "$WORK/pdfgen" -png16 -dir "$WORK/pages" -n 2 -w 10000 -h 10000 >/dev/null
cat >"$WORK/config.toml" <<TOML
[download]
allow_networks = ["127.0.0.0/8"]
rate = 1000.0
burst = 100
TOML
rm -f "$WORK/url.txt"
"$WORK/e2eserve" -dir "$WORK/pages" -glob '*.png' -urls "$WORK/urls.txt" >"$WORK/url.txt" &
srv=$!
trap 'kill $srv 2>/dev/null' EXIT
for _ in $(seq 50); do [ -s "$WORK/url.txt" ] && break; sleep 0.2; done
url=$(cat "$WORK/url.txt")
[ -n "$url" ] || { echo "e2eserve did not start" >&2; exit 1; }

measure() { # name, command...
	name=$1
	shift
	rm -f "$WORK"/out.pdf*
	/usr/bin/time -v "$@" >/dev/null 2>"$WORK/time.txt" || { cat "$WORK/time.txt" >&2; exit 1; }
	wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$WORK/time.txt")
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$WORK/time.txt")
	printf '| %s | %s | %.0f |\n' "$name" "$wall" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
}
echo "2 pages of 10000x10000 16-bit RGBA PNG ($(cat "$WORK"/pages/*.png | wc -c) bytes), decode_memory $(( $("$WORK/bot" config-example | sed -n 's/^decode_memory = \([0-9]*\).*/\1/p' | head -1) / 1048576 )) MiB"
echo
echo '| run | wall | peak RSS MiB |'
echo '|---|---:|---:|'
measure 'pdf.WriteFiles, one job' "$WORK/pdfwrite" -o "$WORK/out.pdf" "$WORK"/pages/*.png
measure 'pdf.WriteFiles, two jobs at once' "$WORK/pdfwrite" -jobs 2 -o "$WORK/out.pdf" "$WORK"/pages/*.png
measure '`bot fetch`' "$WORK/bot" fetch -config "$WORK/config.toml" -o "$WORK/out.pdf" "$url"
"$WORK/botbig" -bot "$WORK/bot" -pages "$WORK/pages" -work "$WORK/botwork" 2>"$WORK/botbig.log"
