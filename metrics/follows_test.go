package metrics_test

import (
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mangabot/mangabot/metrics"
)

func TestFollowMetrics(t *testing.T) {
	m := metrics.New()
	f := m.Follows(func() (int, int) { return 1, 0 })
	// A second bot in the process: the same collectors, its count.
	if g := m.Follows(func() (int, int) { return 3, 2 }); g != f {
		t.Fatal("Follows registered twice")
	}
	f.Round(4, 1500*time.Millisecond)
	f.Checked("mangadex", nil)
	f.Checked("mangadex", errors.New("rate limited"))
	f.Found("mangadex", 2)
	f.Delivered("mangadex", nil)
	f.Paused("webtoon", "Unknown Channel")

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`mangabot_follows{state="active"} 3`,
		`mangabot_follows{state="paused"} 2`,
		`mangabot_follow_rounds_total 1`,
		`mangabot_follow_checks_total{result="error",site="mangadex"} 1`,
		`mangabot_follow_checks_total{result="ok",site="mangadex"} 1`,
		`mangabot_follow_chapters_found_total{site="mangadex"} 2`,
		`mangabot_follow_deliveries_total{result="ok",site="mangadex"} 1`,
		`mangabot_follow_paused_total{site="webtoon"} 1`,
		`mangabot_follow_round_seconds_count 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	var none *metrics.Metrics
	none.Follows(nil).Checked("x", nil) // a bot without metrics
}
