#!/bin/sh
# `bot fetch` end to end (resolve, download, PDF) on a loopback chapter of
# 200 JPEG pages whose server latency is heavy-tailed, against aria2c -j 10
# followed by img2pdf, against this command on branch main (the baseline),
# and against the latency bound: a window of 10 over the server's own page
# latencies, pages in order. Runs alternate; medians of $RUNS. Needs aria2
# and img2pdf (apt-get install aria2 img2pdf). Data lives under $WORK
# (default /tmp/mangabot-e2e). Prints a Markdown table.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${RUNS:-5}
setup
serve url -dir "$WORK/pages" -urls "$WORK/urls.txt"
trap 'kill $srv 2>/dev/null' EXIT
config "$WORK"
bound=$("$WORK/e2eserve" -dir "$WORK/pages" -bound 10)

ours() {
	rm -f "$WORK/ours.pdf"
	"$WORK/bot" fetch -config "$WORK/config.toml" -o "$WORK/ours.pdf" "$url"
}
main() {
	rm -f "$WORK/main.pdf"
	"$WORK/bot-main" fetch -config "$WORK/config.toml" -o "$WORK/main.pdf" "$url"
}
theirs() {
	rm -rf "$WORK/aria" "$WORK/theirs.pdf"
	aria2c -q -j 10 -x 1 --allow-overwrite=true -d "$WORK/aria" -i "$WORK/urls.txt" &&
		img2pdf -o "$WORK/theirs.pdf" "$WORK"/aria/*.jpg
}
load0=$(load)
ours >/dev/null 2>&1 # warm the page cache and the server
for _ in $(seq "$RUNS"); do
	timed t_ours ours
	timed t_theirs theirs
	[ -x "$WORK/bot-main" ] && timed t_main main
done
load1=$(load)
rm -f "$WORK/ours.pdf" "$WORK/main.pdf"
rss_ours=$(peak_rss "$WORK/bot" fetch -config "$WORK/config.toml" -o "$WORK/ours.pdf" "$url")
rss_main=0
[ -x "$WORK/bot-main" ] && rss_main=$(peak_rss "$WORK/bot-main" fetch -config "$WORK/config.toml" -o "$WORK/main.pdf" "$url")
rm -rf "$WORK/aria"
rss_aria=$(peak_rss aria2c -q -j 10 -x 1 -d "$WORK/aria" -i "$WORK/urls.txt")
rss_img=$(peak_rss img2pdf -o "$WORK/theirs.pdf" "$WORK"/aria/*.jpg)
rss_theirs=$((rss_aria > rss_img ? rss_aria : rss_img))
m_ours=$(median "$t_ours")
m_theirs=$(median "$t_theirs")
in=$(cat "$WORK"/pages/*.jpg | wc -c)
echo "$N pages, $in bytes of JPEG, heavy-tailed loopback server (median 40 ms, 1 in 20 at 400–800 ms); median of $RUNS alternating runs; load average $load0 before, $load1 after."
echo
echo '| pipeline | median wall | range | × latency bound | PDF bytes | peak RSS MiB |'
echo '|---|---:|---:|---:|---:|---:|'
printf '| latency bound (window of 10, pages in order) | %s s | | 1.00 | | |\n' "$bound"
printf '| mangabot `bot fetch` (concurrency 10) | %s s | %s | %s | %d | %d |\n' "$m_ours" "$(spread "$t_ours")" "$(ratio "$m_ours" "$bound")" "$(wc -c <"$WORK/ours.pdf")" $((rss_ours / 1024))
if [ -x "$WORK/bot-main" ]; then
	m_main=$(median "$t_main")
	printf '| same on branch main (before) | %s s | %s | %s | %d | %d |\n' "$m_main" "$(spread "$t_main")" "$(ratio "$m_main" "$bound")" "$(wc -c <"$WORK/main.pdf")" $((rss_main / 1024))
fi
printf '| aria2c -j 10 + img2pdf | %s s | %s | %s | %d | %d |\n' "$m_theirs" "$(spread "$t_theirs")" "$(ratio "$m_theirs" "$bound")" "$(wc -c <"$WORK/theirs.pdf")" $((rss_theirs / 1024))
echo
echo "mangabot / aria2c+img2pdf: $(ratio "$m_ours" "$m_theirs")×"
