#!/bin/sh
# `bot fetch` end to end (resolve, download, PDF) against aria2c -j 10
# followed by img2pdf, on a loopback chapter of 200 JPEG pages whose server
# latency is heavy-tailed. Needs aria2 and img2pdf (apt-get install aria2
# img2pdf). Data lives under $WORK (default /tmp/mangabot-e2e). Prints a
# Markdown table; best of $RUNS runs.
set -eu
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/mangabot-e2e}
N=${N:-200}
RUNS=${RUNS:-3}
mkdir -p "$WORK"
go build -o "$WORK/pdfgen" ./bench/pdfgen
go build -o "$WORK/e2eserve" ./bench/e2eserve
go build -o "$WORK/bot" ./cmd/bot
if [ "$(ls "$WORK/pages" 2>/dev/null | wc -l)" -ne "$N" ]; then
	rm -rf "$WORK/pages"
	# Smaller, typical web pages (~250 KB) rather than print scans.
	"$WORK/pdfgen" -dir "$WORK/pages" -n "$N" -w 900 -h 1350 -q 85 -noise 40 >/dev/null
fi
cat >"$WORK/config.toml" <<TOML
[download]
allow_networks = ["127.0.0.0/8"]
concurrency = 10
rate = 1000.0
burst = 100
[output]
placeholders = false
TOML
rm -f "$WORK/url.txt"
"$WORK/e2eserve" -dir "$WORK/pages" -urls "$WORK/urls.txt" >"$WORK/url.txt" &
srv=$!
trap 'kill $srv 2>/dev/null' EXIT
for _ in $(seq 50); do [ -s "$WORK/url.txt" ] && break; sleep 0.2; done
url=$(cat "$WORK/url.txt")
[ -n "$url" ] || { echo "e2eserve did not start" >&2; exit 1; }

now() { date +%s.%N; }
best() { # command...: best wall time in seconds over RUNS
	b=""
	for _ in $(seq "$RUNS"); do
		t0=$(now)
		"$@" >/dev/null 2>&1
		t=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
		if [ -z "$b" ] || awk -v t="$t" -v b="$b" 'BEGIN { exit !(t < b) }'; then b=$t; fi
	done
	echo "$b"
}
ours() {
	rm -f "$WORK/ours.pdf"
	"$WORK/bot" fetch -config "$WORK/config.toml" -o "$WORK/ours.pdf" "$url"
}
theirs() {
	rm -rf "$WORK/aria" "$WORK/theirs.pdf"
	aria2c -q -j 10 -x 1 --allow-overwrite=true -d "$WORK/aria" -i "$WORK/urls.txt" &&
		img2pdf -o "$WORK/theirs.pdf" "$WORK"/aria/*.jpg
}
t_ours=$(best ours)
t_theirs=$(best theirs)
# Peak memory of one more run each (the whole process tree for aria2c+img2pdf
# is two processes: the larger peak is reported).
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
rss_ours=$(rss sh -c "rm -f '$WORK/ours.pdf'; '$WORK/bot' fetch -config '$WORK/config.toml' -o '$WORK/ours.pdf' '$url' 2>/dev/null")
rm -rf "$WORK/aria"
rss_aria=$(rss aria2c -q -j 10 -x 1 -d "$WORK/aria" -i "$WORK/urls.txt")
rss_img=$(rss img2pdf -o "$WORK/theirs.pdf" "$WORK"/aria/*.jpg)
rss_theirs=$(( rss_aria > rss_img ? rss_aria : rss_img ))
in=$(cat "$WORK"/pages/*.jpg | wc -c)
echo "$N pages, $in bytes of JPEG, heavy-tailed loopback server, best of $RUNS"
echo
echo '| pipeline | wall | PDF bytes | peak RSS MiB |'
echo '|---|---:|---:|---:|'
printf '| mangabot `bot fetch` (concurrency 10) | %s s | %d | %d |\n' "$t_ours" "$(wc -c <"$WORK/ours.pdf")" $((rss_ours / 1024))
printf '| aria2c -j 10 + img2pdf | %s s | %d | %d |\n' "$t_theirs" "$(wc -c <"$WORK/theirs.pdf")" $((rss_theirs / 1024))
