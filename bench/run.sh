#!/bin/sh
# Runs every benchmark and writes their tables into README.md between the
# markers <!-- bench:start --> and <!-- bench:end -->.
# Needs aria2, img2pdf and cwebp: apt-get install aria2 img2pdf webp. The
# end-to-end scripts also build branch main's bot as the baseline
# (BASELINE=none skips it; BASELINE=<rev> picks another).
set -eu
cd "$(dirname "$0")/.."
out=$(mktemp)
{
	echo "Measured on $(nproc) cores shared with other work (load averages are given per table), $(date -u +%Y-%m-%d), $(go version | awk '{ print $3 }'):"
	echo
	echo "**(a) Fetcher: sliding window vs lock-step batches** (\`bench/fetch.sh\`)"
	echo
	bench/fetch.sh -runs 3
	echo
	echo "**(b) End to end: \`bot fetch\` vs aria2c + img2pdf and the latency bound** (\`bench/e2e.sh\`)"
	echo
	bench/e2e.sh
	echo
	echo "**(c) A title of 10 chapters: one window for the job vs chapter after chapter** (\`bench/chapters.sh\`)"
	echo
	bench/chapters.sh
	echo
	echo "**(d) A host answering 429 for 5 s mid-run** (\`bench/storm.sh\`)"
	echo
	bench/storm.sh
	echo
	echo "**(e) Time to first feedback** (\`go run ./bench/firstreq\`)"
	echo
	go run ./bench/firstreq
	echo
	echo "**(f) PDF, CBZ and EPUB writers vs img2pdf, 200 JPEGs of ~1.5 MB (~300 MB)** (\`bench/pdf.sh\`)"
	echo
	bench/pdf.sh
	echo
	echo "**(g) Lossy WebP in PDFs** (\`bench/webp.sh\`)"
	echo
	bench/webp.sh
	echo
	echo "**(h) Follows: one polling round, 500 series on 20 loopback hosts** (\`go run ./bench/followbench\`)"
	echo
	go run ./bench/followbench
	echo
	echo "**(i) Huge pages: peak memory** (\`bench/bigpng.sh\`)"
	echo
	bench/bigpng.sh
	echo
	echo "**(j) fit shrink: size vs quality, and the 300 MB chapter** (\`bench/fit.sh\`)"
	echo
	bench/fit.sh
} >"$out"
awk -v f="$out" '
	/<!-- bench:start -->/ { print; while ((getline l < f) > 0) print l; skip = 1; next }
	/<!-- bench:end -->/ { skip = 0 }
	!skip { print }
' README.md >README.md.tmp && mv README.md.tmp README.md
rm -f "$out"
echo "README.md updated"
