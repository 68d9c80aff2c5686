# Shared helpers of the bench scripts (sourced).

WORK=${WORK:-/tmp/mangabot-e2e}
N=${N:-200}

# setup: the pages, the server and both bots under $WORK.
setup() {
	mkdir -p "$WORK"
	pages "$WORK" "$N"
	build_bots "$WORK"
}

now() { date +%s.%N; }

# timed VAR command...: runs the command, appends its wall time in seconds
# to the space-separated list in $VAR.
timed() {
	_var=$1
	shift
	_t0=$(now)
	"$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
	_t=$(awk -v a="$_t0" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }')
	eval "$_var=\"\${$_var:-} $_t\""
}

# median LIST: the median of space-separated numbers.
median() {
	echo "$1" | tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# spread LIST: "min–max".
spread() {
	echo "$1" | tr ' ' '\n' | grep . | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s–%s", lo, hi }'
}

# ratio A B: A / B to two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# peak_rss command...: the peak RSS in KiB of the command.
peak_rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }

# load: the 1-minute load average.
load() { cut -d' ' -f1 /proc/loadavg; }

# build_bots DIR: the bot of this tree as DIR/bot and of branch main (today's
# behaviour, the baseline) as DIR/bot-main.
build_bots() {
	go build -o "$1/bot" ./cmd/bot
	if [ "${BASELINE:-main}" != none ]; then
		rm -rf "$1/main-src"
		mkdir -p "$1/main-src"
		git archive "${BASELINE:-main}" | tar -x -C "$1/main-src"
		(cd "$1/main-src" && go build -o "$1/bot-main" ./cmd/bot)
	fi
}

# serve URLVAR args...: starts e2eserve in the background (pid in $srv),
# waits for its URL lines; the first is the gallery, the last the series.
serve() {
	_uv=$1
	shift
	rm -f "$WORK/url.txt"
	"$WORK/e2eserve" "$@" >"$WORK/url.txt" &
	srv=$!
	for _ in $(seq 50); do [ -s "$WORK/url.txt" ] && break; sleep 0.2; done
	[ -s "$WORK/url.txt" ] || { echo "e2eserve did not start" >&2; exit 1; }
	eval "$_uv=\$(tail -1 \"\$WORK/url.txt\")"
}

# pages WORK N: N generated JPEG pages (~250 KB, typical web pages) in
# WORK/pages, made once.
pages() {
	go build -o "$1/pdfgen" ./bench/pdfgen
	go build -o "$1/e2eserve" ./bench/e2eserve
	if [ "$(ls "$1/pages" 2>/dev/null | wc -l)" -ne "$2" ]; then
		rm -rf "$1/pages"
		"$1/pdfgen" -dir "$1/pages" -n "$2" -w 900 -h 1350 -q 85 -noise 40 >/dev/null
	fi
}

# config WORK: the bot's config for the loopback server.
config() {
	cat >"$1/config.toml" <<TOML
[download]
allow_networks = ["127.0.0.0/8"]
concurrency = 10
rate = 1000.0
burst = 100
[output]
placeholders = false
[sites.webtoon]
base_url = "${2:-http://127.0.0.1}"
TOML
}
