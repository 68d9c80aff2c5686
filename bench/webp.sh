#!/bin/sh
# Measures [pdf] lossy_webp: N manga-like grey pages (bench/pdfgen, with
# scan grain) encoded as lossy WebP by cwebp at quality 80 (as aggregator
# sites serve them), plus the lossy WebP files of pdf/testdata, written
# into a PDF losslessly and as JPEG. Needs cwebp (apt-get install webp).
# Data lives under $WORK (default /tmp/webpbench). Prints Markdown tables.
set -eu
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/webpbench}
N=${N:-20}
mkdir -p "$WORK/png" "$WORK/webp"
go build -o "$WORK/pdfgen" ./bench/pdfgen
go build -o "$WORK/webpjpeg" ./bench/webpjpeg
"$WORK/pdfgen" -manga -dir "$WORK/png" -n "$N"
for p in "$WORK"/png/*.png; do
	cwebp -quiet -q 80 "$p" -o "$WORK/webp/$(basename "$p" .png).webp"
done
echo "Manga-like pages, 1200×1800, cwebp -q 80:"
echo
"$WORK/webpjpeg" "$WORK"/webp/*.webp
echo
echo "The same pages without grain (clean digital pages):"
echo
rm -rf "$WORK/clean" && mkdir -p "$WORK/clean"
"$WORK/pdfgen" -manga -dir "$WORK/png" -n "$N" -grain 0
for p in "$WORK"/png/*.png; do
	cwebp -quiet -q 80 "$p" -o "$WORK/clean/$(basename "$p" .png).webp"
done
"$WORK/webpjpeg" "$WORK"/clean/*.webp
echo
echo "The mixed corpus of cmd/bot's mixed-format test (18 real files of pdf/testdata: JPEG, PNG, GIF, BMP, TIFF, WebP; two lossy WebP):"
echo
cd pdf/testdata
"$WORK/webpjpeg" video-001.jpeg video-001.progressive.jpeg video-005.gray.jpeg video-001.cmyk.jpeg \
	video-001.png video-005.gray.png basn3p08.png basn0g16.png basn4a08.png basn6a16.png \
	basn3p08-trns.png benchRGB-interlace.png video-001.gif video-001.lossy.webp \
	blue-purple-pink.lossless.webp yellow_rose.lossy-with-alpha.webp video-001.bmp video-001.tiff
