#!/bin/sh
# Measures fit shrink (bench/fitbench): (1) size vs quality on a chapter of
# 32 scanned manga pages (~25 MiB, JPEG 95, one colour page) at falling
# budgets; (2) time and peak RSS on the 300 MB chapter of bench/pdfgen
# (200 noisy 1200×1800 JPEGs). Data lives under $WORK (default
# /tmp/fitbench), never in the repository. Prints Markdown tables.
set -eu
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/fitbench}
mkdir -p "$WORK"
for cmd in fitbench pdfgen; do
	go build -o "$WORK/$cmd" "./bench/$cmd"
done
if [ "$(ls "$WORK/scan" 2>/dev/null | wc -l)" -ne 32 ]; then
	rm -rf "$WORK/scan"
	"$WORK/pdfgen" -scan -dir "$WORK/scan" -n 32 -h 1700 -q 95
fi
if [ "$(ls "$WORK/noisy" 2>/dev/null | wc -l)" -ne 200 ]; then
	rm -rf "$WORK/noisy"
	"$WORK/pdfgen" -dir "$WORK/noisy" -n 200
fi

row() { # dir, budget, extra flags...
	dir=$1 budget=$2
	shift 2
	/usr/bin/time -v "$WORK/fitbench" -budget "$budget" "$@" "$dir"/*.jpg >"$WORK/row.txt" 2>"$WORK/time.txt" || { cat "$WORK/time.txt" >&2; exit 1; }
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$WORK/time.txt")
	printf '%s %.0f |\n' "$(cat "$WORK/row.txt")" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
}

in=$(cat "$WORK"/scan/* | wc -c)
echo "Size vs quality: 32 scanned pages, $(awk -v b="$in" 'BEGIN { printf "%.1f MiB", b / 1048576 }') (JPEG 95, 1200×1700, one colour page); fit_max_width 1200 (pages are that wide), fit_min_quality 50, fit_min_ssim 0.9:"
echo
echo '| budget | result | quality | width | grey pages of re-encoded | similarity mean (worst) | wall | peak RSS MiB |'
echo '|---|---|---|---|---|---|---|---|'
for b in 20MiB 15MiB 10MiB 7.5MiB 5MiB 3MiB; do
	row "$WORK/scan" "$b"
done
for b in 5MiB 3MiB; do
	echo "| $b, fit_max_width 800 |$(row "$WORK/scan" $b -width 800 | cut -d'|' -f3-)"
done
echo
in=$(cat "$WORK"/noisy/* | wc -c)
echo "The 300 MB chapter: 200 noisy JPEG pages, $(awk -v b="$in" 'BEGIN { printf "%.0f MiB", b / 1048576 }') (bench/pdfgen), fit_min_ssim 0.5 (noise is all detail):"
echo
echo '| budget | result | quality | width | grey pages of re-encoded | similarity mean (worst) | wall | peak RSS MiB |'
echo '|---|---|---|---|---|---|---|---|'
row "$WORK/noisy" 200MiB -minssim 0.5
row "$WORK/noisy" 100MiB -minssim 0.5
