#!/bin/sh
# Measures the PDF, CBZ and EPUB writers, and img2pdf, on a generated chapter
# of 200 noisy JPEG pages (~1.5 MB each, ~300 MB). Data lives under $WORK (default
# /tmp/pdfbench), never in the repository. Prints a Markdown table.
# Bars: output within 1% of the JPEG input bytes, writer peak RSS < 64 MiB.
set -eu
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/pdfbench}
N=${N:-200}
mkdir -p "$WORK"
go build -o "$WORK/pdfgen" ./bench/pdfgen
go build -o "$WORK/pdfwrite" ./bench/pdfwrite
if [ "$(ls "$WORK/pages" 2>/dev/null | wc -l)" -ne "$N" ]; then
	rm -rf "$WORK/pages"
	"$WORK/pdfgen" -dir "$WORK/pages" -n "$N"
fi
in=$(cat "$WORK"/pages/*.jpg | wc -c)
# Warm the page cache so both tools read from memory.
cat "$WORK"/pages/*.jpg >/dev/null

measure() { # name, output file, command...
	name=$1 out=$2
	shift 2
	rm -f "$out"
	/usr/bin/time -v "$@" 2>"$WORK/time.txt" >/dev/null
	wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$WORK/time.txt")
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$WORK/time.txt")
	bytes=$(wc -c <"$out")
	ratio=$(awk -v o="$bytes" -v i="$in" 'BEGIN { printf "%+.3f%%", (o - i) * 100 / i }')
	printf '| %s | %d | %s | %d | %s | %.1f |\n' "$name" "$N" "$wall" "$bytes" "$ratio" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
}

echo "input: $N JPEG pages, $in bytes"
echo
echo '| tool | pages | wall | output bytes | vs input | peak RSS MiB |'
echo '|---|---|---|---|---|---|'
measure "mangabot pdf" "$WORK/ours.pdf" "$WORK/pdfwrite" -o "$WORK/ours.pdf" "$WORK"/pages/*.jpg
measure "mangabot cbz" "$WORK/ours.cbz" "$WORK/pdfwrite" -format cbz -o "$WORK/ours.cbz" "$WORK"/pages/*.jpg
measure "mangabot epub" "$WORK/ours.epub" "$WORK/pdfwrite" -format epub -o "$WORK/ours.epub" "$WORK"/pages/*.jpg
if command -v img2pdf >/dev/null; then
	measure "img2pdf $(img2pdf --version 2>&1 | awk '{ print $2 }')" "$WORK/img2pdf.pdf" img2pdf -o "$WORK/img2pdf.pdf" "$WORK"/pages/*.jpg
fi
if command -v qpdf >/dev/null; then
	qpdf --check "$WORK/ours.pdf" >/dev/null && echo && echo "qpdf --check: ours.pdf OK"
fi
