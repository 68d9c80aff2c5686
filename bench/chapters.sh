#!/bin/sh
# A title of 10 chapters of 20 pages (the 200 pages of bench/e2e.sh, same
# heavy-tailed latency) fetched with `bot fetch -chapters all`: this tree
# (one window across chapters, each PDF written as its pages arrive)
# against branch main (chapter after chapter: today's behaviour, the
# baseline) and against aria2c -j 10 over all 200 URLs followed by one
# img2pdf per chapter. Runs alternate; medians of $RUNS. Prints Markdown.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
C=${C:-10}
RUNS=${RUNS:-5}
setup
serve url -dir "$WORK/pages" -urls "$WORK/urls.txt" -chapters "$C"
trap 'kill $srv 2>/dev/null' EXIT
config "$WORK" "${url%%/en/*}"
per=$((N / C))

ours() {
	rm -rf "$WORK/ch-ours" && mkdir -p "$WORK/ch-ours"
	"$WORK/bot" fetch -config "$WORK/config.toml" -chapters all -o "$WORK/ch-ours" "$url"
}
main() {
	rm -rf "$WORK/ch-main" && mkdir -p "$WORK/ch-main"
	"$WORK/bot-main" fetch -config "$WORK/config.toml" -chapters all -o "$WORK/ch-main" "$url"
}
theirs() {
	rm -rf "$WORK/aria" "$WORK/ch-theirs" && mkdir -p "$WORK/ch-theirs"
	aria2c -q -j 10 -x 1 --allow-overwrite=true -d "$WORK/aria" -i "$WORK/urls.txt" || return 1
	for k in $(seq 0 $((C - 1))); do
		img2pdf -o "$WORK/ch-theirs/$k.pdf" $(ls "$WORK"/aria/*.jpg | sed -n "$((k * per + 1)),$(((k + 1) * per))p") || return 1
	done
}
load0=$(load)
ours >/dev/null 2>&1
for _ in $(seq "$RUNS"); do
	timed t_ours ours
	[ -x "$WORK/bot-main" ] && timed t_main main
	timed t_theirs theirs
done
load1=$(load)
[ "$(ls "$WORK/ch-ours" | wc -l)" -eq "$C" ] || { echo "bot fetch wrote $(ls "$WORK/ch-ours" | wc -l) files, want $C" >&2; exit 1; }
m_ours=$(median "$t_ours")
m_theirs=$(median "$t_theirs")
echo "$C chapters of $per pages (the same $N pages and latencies), one PDF per chapter; median of $RUNS alternating runs; load average $load0 before, $load1 after."
echo
echo '| pipeline | median wall | range | vs this tree |'
echo '|---|---:|---:|---:|'
printf '| mangabot `bot fetch -chapters all` (one window for the job) | %s s | %s | 1.00 |\n' "$m_ours" "$(spread "$t_ours")"
if [ -x "$WORK/bot-main" ]; then
	m_main=$(median "$t_main")
	printf '| same on branch main (chapter after chapter) | %s s | %s | %s× slower |\n' "$m_main" "$(spread "$t_main")" "$(ratio "$m_main" "$m_ours")"
fi
printf '| aria2c -j 10 (200 URLs) + %d × img2pdf | %s s | %s | %s× slower |\n' "$C" "$m_theirs" "$(spread "$t_theirs")" "$(ratio "$m_theirs" "$m_ours")"
