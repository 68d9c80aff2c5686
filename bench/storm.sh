#!/bin/sh
# A host that answers 429 (Retry-After: 1) to every image request for 5 s,
# starting 0.5 s into the 200-page chapter of bench/e2e.sh: requests/s it
# receives before, during and after the storm, 429s answered, the job's
# completion time and pages lost; this tree against branch main. Prints
# Markdown.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
AFTER=${AFTER:-0.5}
FOR=${FOR:-5}
setup
config "$WORK"

# run NAME BOT: one fetch against a fresh storm server; prints a table row.
run() {
	serve url -dir "$WORK/pages" -urls "$WORK/urls.txt" -storm-after "${AFTER}s" -storm-for "${FOR}s" -log "$WORK/storm-$1.log"
	rm -f "$WORK/storm.pdf"
	t0=$(now)
	"$2" fetch -config "$WORK/config.toml" -o "$WORK/storm.pdf" "$url" >"$WORK/storm-$1.out" 2>&1 || true
	t1=$(now)
	kill "$srv" 2>/dev/null
	wait "$srv" 2>/dev/null || true
	lost=$(grep -c '^page [0-9]* failed' "$WORK/storm-$1.out" || true)
	[ -s "$WORK/storm.pdf" ] || lost="no PDF"
	awk -v name="$1" -v a="$AFTER" -v f="$FOR" -v t0="$t0" -v t1="$t1" -v lost="$lost" '
		NR == 1 { first = $1 / 1e9 }
		{
			t = $1 / 1e9 - first
			if (t < a) b++
			else if (t < a + f) { d++; if ($2 == 429) r++ }
			else { x++; last = t }
		}
		END {
			after = last - a - f
			printf "| %s | %.0f | %.1f | %.0f | %d of %d | %.2f s | %s |\n", name, b / a, d / f, (after > 0 ? x / after : 0), r, NR, t1 - t0, lost
		}' "$WORK/storm-$1.log"
}
echo "The 200-page chapter; the host answers 429 with Retry-After: 1 from ${AFTER} s after the first image request for ${FOR} s. Load average $(load)."
echo
echo '| fetcher | requests/s before | during the 429s | after | 429s of requests | completion | pages lost |'
echo '|---|---:|---:|---:|---:|---:|---:|'
run "mangabot (adaptive per host)" "$WORK/bot"
[ -x "$WORK/bot-main" ] && run "branch main (fixed window)" "$WORK/bot-main"
# The timeline of this tree's run: requests and 429s per half second.
echo
printf 'mangabot, requests per 0.5 s (429s in brackets): '
awk 'NR == 1 { first = $1 } { k = int(($1 - first) / 5e8); n[k]++; if ($2 == 429) r[k]++; if (k > m) m = k }
	END { for (i = 0; i <= m; i++) printf "%s%d%s", (i ? " " : ""), n[i], (r[i] ? "(" r[i] ")" : ""); print "" }' "$WORK/storm-mangabot (adaptive per host).log"
