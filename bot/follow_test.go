package bot

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/mangabot/mangabot/cluster"
	"github.com/mangabot/mangabot/config"
	"github.com/mangabot/mangabot/internal/fakediscord"
	"github.com/mangabot/mangabot/internal/natstest"
	"github.com/mangabot/mangabot/internal/testtool"
	"github.com/mangabot/mangabot/sites"
	"github.com/mangabot/mangabot/sites/engine/enginetest"
	"github.com/mangabot/mangabot/sites/mangadex"
	"github.com/mangabot/mangabot/sites/mangadex/mdtest"
	"github.com/mangabot/mangabot/store"
)

// startFollowing runs a bot with a store, fast follow rounds and the
// mangadex handler on a loopback API.
func startFollowing(t *testing.T, api *mdtest.API) *harness {
	info, _ := sites.Lookup("mangadex")
	o := info.Options().(*mangadex.Options)
	o.APIURL, o.ReportURL = api.URL, ""
	return startWith(t, func(c *Config) {
		c.StorePath = filepath.Join(t.TempDir(), "store.db")
		c.Follows.Interval = config.Duration{Duration: 100 * time.Millisecond}
		c.Follows.Jitter = config.Duration{}
		c.Follows.MaxBackoff = config.Duration{Duration: time.Second}
	}, startOptions{siteOpts: map[string]any{"mangadex": o}})
}

// feedHits is how many times the feed was asked for.
func feedHits(api *mdtest.API) int { return api.Hits("/manga/" + mdtest.MangaID + "/feed") }

// waitRounds waits until the feed was asked n more times.
func (h *harness) waitRounds(api *mdtest.API, n int) {
	h.t.Helper()
	want := feedHits(api) + n
	h.waitFor("follow rounds", func() bool { return feedHits(api) >= want })
}

// customIDs are the custom_ids of a message's buttons.
func customIDs(m fakediscord.Message) []string {
	var out []string
	for _, raw := range m.Components {
		var row struct {
			Components []struct {
				CustomID string `json:"custom_id"`
			} `json:"components"`
		}
		json.Unmarshal(raw, &row)
		for _, c := range row.Components {
			if c.CustomID != "" {
				out = append(out, c.CustomID)
			}
		}
	}
	return out
}

func TestFollowAnnouncesOnceWithDownload(t *testing.T) {
	api := mdtest.New(t, mdtest.Options{})
	h := startFollowing(t, api)
	series := mdtest.TitleURL("https://mangadex.org")

	// Members without Manage Channels may not follow.
	h.refused(h.command("follow", dl{user: "u2", opts: map[string]string{"url": series}}), "permission")

	tok := h.command("follow", dl{user: "u1", perms: discordgo.PermissionManageChannels, opts: map[string]string{"url": series}})
	h.waitFor("follow answer", h.originalHas(tok, "Following **The Library Beyond the Clouds** in <#c1>"))
	// Baseline: rounds go by and nothing is posted.
	h.waitRounds(api, 3)
	if ms := h.fd.ChannelMessages(); len(ms) != 0 {
		t.Fatalf("baseline posted %d messages", len(ms))
	}

	id := api.Add("7", time.Now().Add(-time.Minute))
	h.waitFor("announcement", func() bool { return len(h.fd.ChannelMessages()) > 0 })
	h.waitRounds(api, 3)
	ms := h.fd.ChannelMessages()
	if len(ms) != 1 {
		t.Fatalf("%d messages, want exactly one announcement", len(ms))
	}
	text := statusText(&ms[0])
	for _, want := range []string{"Ch. 7: Chapter 7", "Alpha Scans", "Chapter: 7"} {
		if !strings.Contains(text, want) {
			t.Errorf("announcement lacks %q:\n%s", want, text)
		}
	}
	if ms[0].ChannelID != "c1" || !strings.Contains(string(ms[0].Embeds[0]), id) {
		t.Errorf("announcement in %s, embed %s", ms[0].ChannelID, ms[0].Embeds[0])
	}
	ids := customIDs(ms[0])
	if len(ids) != 1 || !strings.HasPrefix(ids[0], "fdl:") {
		t.Fatalf("buttons %v", ids)
	}

	// Download: a normal job for whoever presses it, delivered to them.
	press := h.click("u3", 0, ids[0])
	h.waitAttachment(press)
	if n := checkPDF(t, h.fd.Original(press).Attachments[0].Data()); n != 3 {
		t.Errorf("downloaded PDF has %d pages, want 3", n)
	}

	// /manga following lists it with the last chapter seen.
	ftok := h.command("following", dl{user: "u2"})
	cb := h.waitCallback(ftok)
	raw, _ := json.Marshal(cb)
	if !strings.Contains(string(raw), "The Library Beyond the Clouds") || !strings.Contains(string(raw), "Ch. 7") || !strings.Contains(string(raw), "Next check") {
		t.Errorf("following: %s", raw)
	}

	// Unfollow: no more requests for that series.
	fs, _ := h.bot.st.Follows(nil)
	h.refused(h.command("unfollow", dl{user: "u1", perms: discordgo.PermissionManageChannels, opts: map[string]string{"series": fs[0].ID}}), "Unfollowed")
	before := feedHits(api)
	time.Sleep(500 * time.Millisecond) // five intervals
	if n := feedHits(api) - before; n != 0 {
		t.Errorf("%d feed requests after unfollow", n)
	}
}

func TestFollowDeletedChannelPauses(t *testing.T) {
	api := mdtest.New(t, mdtest.Options{})
	h := startFollowing(t, api)
	h.command("follow", dl{guild: "g2", user: "u1", perms: discordgo.PermissionManageChannels, opts: map[string]string{"url": mdtest.TitleURL("https://mangadex.org")}})
	h.waitFor("follow stored", func() bool { fs, _ := h.bot.st.Follows(nil); return len(fs) == 1 })
	h.fd.Inject(fakediscord.Fault{Method: "POST", PathContains: "/channels/c-g2/messages", Count: 100, Status: 404,
		Body: `{"message": "Unknown Channel", "code": 10003}`})
	api.Add("7", time.Now().Add(-time.Minute))
	var f store.Follow
	h.waitFor("paused", func() bool {
		fs, _ := h.bot.st.Follows(nil)
		f = fs[0]
		return f.Paused != ""
	})
	if !strings.Contains(f.Paused, "Unknown Channel") {
		t.Errorf("paused because %q", f.Paused)
	}
	before := feedHits(api)
	posts := len(h.fd.Requests())
	time.Sleep(500 * time.Millisecond)
	if n := feedHits(api) - before; n != 0 {
		t.Errorf("a paused follow was checked %d times", n)
	}
	if len(h.fd.Requests()) != posts {
		t.Errorf("requests to Discord after the pause")
	}
	// The chapter stays pending (not lost) should the follow be resumed.
	found, _ := h.bot.st.FoundOf(f.ID, true)
	if len(found) != 1 {
		t.Errorf("%d pending chapters, want 1", len(found))
	}
}

// A pdf or cbz follow posts the chapter's file, in that format, beside
// its Download button.
func TestFollowDeliversFile(t *testing.T) {
	for _, format := range []string{"pdf", "cbz"} {
		t.Run(format, func(t *testing.T) {
			api := mdtest.New(t, mdtest.Options{})
			h := startFollowing(t, api)
			tok := h.command("follow", dl{user: "u1", perms: discordgo.PermissionManageChannels,
				opts: map[string]string{"url": mdtest.TitleURL("https://mangadex.org"), "deliver": format}})
			h.waitFor("follow answer", h.originalHas(tok, "Following"))
			api.Add("7", time.Now().Add(-time.Minute))
			h.waitFor("post", func() bool { return len(h.fd.ChannelMessages()) > 0 })
			ms := h.fd.ChannelMessages()
			if len(ms) != 1 || len(ms[0].Attachments) != 1 || !strings.HasSuffix(ms[0].Attachments[0].Filename, "."+format) {
				var names []string
				for _, m := range ms {
					for _, a := range m.Attachments {
						names = append(names, a.Filename)
					}
				}
				t.Fatalf("%d posts with attachments %q, want one .%s", len(ms), names, format)
			}
			data := ms[0].Attachments[0].Data()
			pages := 0
			if format == "pdf" {
				pages = checkPDF(t, data)
			} else {
				path := filepath.Join(t.TempDir(), "ch.cbz")
				if err := os.WriteFile(path, data, 0o644); err != nil {
					t.Fatal(err)
				}
				heads, files := testtool.ReadZip(t, path)
				names := testtool.Names(heads)
				if len(names) == 0 || names[len(names)-1] != "ComicInfo.xml" {
					t.Fatalf("CBZ entries %v", names)
				}
				testtool.ValidateXML(t, files["ComicInfo.xml"], filepath.Join("..", "cbz", "testdata", "ComicInfo-2.1.xsd"))
				pages = len(names) - 1
			}
			if pages != 3 {
				t.Errorf("%s of %d pages, want 3", format, pages)
			}
			if len(customIDs(ms[0])) != 1 {
				t.Error("no Download button beside the file")
			}
		})
	}
}

func TestFollowCapsAndChoices(t *testing.T) {
	api := mdtest.New(t, mdtest.Options{})
	info, _ := sites.Lookup("mangadex")
	o := info.Options().(*mangadex.Options)
	o.APIURL, o.ReportURL = api.URL, ""
	h := startWith(t, func(c *Config) {
		c.StorePath = filepath.Join(t.TempDir(), "store.db")
		c.Follows.MaxPerChannel = 1
		c.Follows.Permission = "everyone"
	}, startOptions{siteOpts: map[string]any{"mangadex": o}})
	series := mdtest.TitleURL("https://mangadex.org")
	h.refused(h.command("follow", dl{user: "u1", opts: map[string]string{"url": series, "deliver": "zip"}}), "deliver must be")
	gallery := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<html><body><img src="/a.jpg"><img src="/b.jpg"></body></html>`))
	}))
	defer gallery.Close()
	gtok := h.command("follow", dl{user: "u1", opts: map[string]string{"url": gallery.URL + "/gallery/1"}})
	h.waitFor("refusal", h.originalHas(gtok, "cannot be followed"))
	tok := h.command("follow", dl{user: "u1", opts: map[string]string{"url": series}})
	h.waitFor("follow answer", h.originalHas(tok, "Following"))
	h.refused(h.command("follow", dl{user: "u2", opts: map[string]string{"url": series}}), "already follows")
	h.refused(h.command("follow", dl{user: "u2", opts: map[string]string{"url": "https://mangadex.org/title/00000000-0000-4000-8000-000000000000"}}), "most one channel may")
	// DMs have no channel to post in.
	_, dm, _ := h.fd.Dispatch(fakediscord.Interaction{Type: 2, UserID: "u1", Data: map[string]any{"id": "cmd1", "name": "manga", "type": 1,
		"options": []map[string]any{{"name": "following", "type": 1}}}})
	h.refused(dm, "in a server")

	// Autocomplete of /manga unfollow offers this server's follows only.
	_, ac, _ := h.fd.Dispatch(fakediscord.Interaction{Type: 4, GuildID: "g1", ChannelID: "c1", UserID: "u1", Data: map[string]any{
		"id": "cmd1", "name": "manga", "type": 1, "options": []map[string]any{{"name": "unfollow", "type": 1,
			"options": []map[string]any{{"name": "series", "type": 3, "value": "library", "focused": true}}}}}})
	cb := h.waitCallback(ac)
	raw, _ := json.Marshal(cb)
	fs, _ := h.bot.st.Follows(nil)
	if !strings.Contains(string(raw), `"value":"`+fs[0].ID+`"`) || !strings.Contains(string(raw), "The Library Beyond the Clouds") {
		t.Errorf("autocomplete %s", raw)
	}
	_, ac2, _ := h.fd.Dispatch(fakediscord.Interaction{Type: 4, GuildID: "g2", ChannelID: "c-g2", UserID: "u1", Data: map[string]any{
		"id": "cmd1", "name": "manga", "type": 1, "options": []map[string]any{{"name": "unfollow", "type": 1,
			"options": []map[string]any{{"name": "series", "type": 3, "value": "", "focused": true}}}}}})
	if raw, _ := json.Marshal(h.waitCallback(ac2)); strings.Contains(string(raw), fs[0].ID) {
		t.Errorf("another server's autocomplete offers it: %s", raw)
	}
}

func TestFollowLeftGuildPauses(t *testing.T) {
	api := mdtest.New(t, mdtest.Options{})
	h := startFollowing(t, api)
	tok := h.command("follow", dl{guild: "g2", user: "u1", perms: discordgo.PermissionManageChannels, opts: map[string]string{"url": mdtest.TitleURL("https://mangadex.org")}})
	h.waitFor("follow answer", h.originalHas(tok, "Following"))
	if err := h.fd.DispatchEvent("GUILD_DELETE", map[string]any{"id": "g2"}); err != nil {
		t.Fatal(err)
	}
	h.waitFor("paused", func() bool {
		fs, _ := h.bot.st.Follows(nil)
		return len(fs) == 1 && fs[0].Paused == "the bot left this server"
	})
	ftok := h.command("following", dl{guild: "g2", user: "u1"})
	if raw, _ := json.Marshal(h.waitCallback(ftok)); !strings.Contains(string(raw), "Paused: the bot left this server") {
		t.Errorf("following: %s", raw)
	}
}

// madaraSeries is a Madara reader on loopback (the saved series page,
// chapter pages, and a CDN on another host that checks the Referer) whose
// series can gain a chapter 11.
type madaraSeries struct {
	*httptest.Server
	cdn    *enginetest.CDN
	added  atomic.Bool
	series atomic.Int64 // series page requests
}

func newMadaraSeries(t *testing.T) *madaraSeries {
	m := &madaraSeries{cdn: enginetest.NewCDN(t)}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		switch {
		case r.URL.Path == "/manga/solo-hero/":
			m.series.Add(1)
			page := string(enginetest.Fixture(t, "../sites/madara/testdata/series-inline.html", m.URL, m.cdn.URL))
			if m.added.Load() {
				page = strings.Replace(page, `<ul class="main version-chap no-volumn">`, `<ul class="main version-chap no-volumn">
            <li class="wp-manga-chapter"><a href="`+m.URL+`/manga/solo-hero/chapter-11/">Chapter 11 - Epilogue</a></li>`, 1)
			}
			w.Write([]byte(page))
		case strings.HasPrefix(r.URL.Path, "/manga/solo-hero/chapter-"):
			w.Write(enginetest.Fixture(t, "../sites/madara/testdata/chapter.html", m.URL, m.cdn.URL))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(m.Close)
	m.cdn.Origin = m.URL
	return m
}

// A Madara series on a host the bot never saw: followed through the
// generic handler's detection, checked by the engine, one announcement
// whose Download button delivers the chapter.
func TestFollowMadaraSeries(t *testing.T) {
	api := mdtest.New(t, mdtest.Options{})
	site := newMadaraSeries(t)
	h := startFollowing(t, api)
	tok := h.command("follow", dl{user: "u1", perms: discordgo.PermissionManageChannels, opts: map[string]string{"url": site.URL + "/manga/solo-hero/"}})
	h.waitFor("follow answer", h.originalHas(tok, "Following **Solo Hero**"))
	fs, _ := h.bot.st.Follows(nil)
	if len(fs) != 1 || fs[0].Site != "madara" || !strings.Contains(fs[0].Last, "Ch. 10") {
		t.Fatalf("follow %+v", fs)
	}
	want := site.series.Load() + 3
	h.waitFor("rounds", func() bool { return site.series.Load() >= want })
	if n := len(h.fd.ChannelMessages()); n != 0 {
		t.Fatalf("baseline posted %d", n)
	}
	site.added.Store(true)
	h.waitFor("announcement", func() bool { return len(h.fd.ChannelMessages()) > 0 })
	want = site.series.Load() + 3
	h.waitFor("rounds", func() bool { return site.series.Load() >= want })
	ms := h.fd.ChannelMessages()
	if len(ms) != 1 || !strings.Contains(statusText(&ms[0]), "Solo Hero — Ch. 11") {
		t.Fatalf("%d posts: %s", len(ms), statusText(&ms[0]))
	}
	press := h.click("u3", 0, customIDs(ms[0])[0])
	h.waitAttachment(press)
	if n := checkPDF(t, h.fd.Original(press).Attachments[0].Data()); n != 3 {
		t.Errorf("PDF of %d pages, want 3", n)
	}
	if r := site.cdn.Refused(); len(r) > 0 {
		t.Errorf("CDN refused %v", r)
	}
}

// Two gateways (shards 0 and 1 of 2, each on its own fake Discord) share
// one store in NATS KV: each checks and posts the follows of its shard's
// guilds only, so a new chapter is announced once per follow, by the
// shard that owns the guild.
func TestShardsShareFollows(t *testing.T) {
	url := natstest.Start(t, "", -1).ClientURL()
	conn, err := cluster.Connect(context.Background(), cluster.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	kv, err := conn.Store(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	api := mdtest.New(t, mdtest.Options{})
	info, _ := sites.Lookup("mangadex")
	o := info.Options().(*mangadex.Options)
	o.APIURL, o.ReportURL = api.URL, ""
	guilds := []string{"8388608", "4194304"} // 2<<22 on shard 0, 1<<22 on shard 1
	hs := make([]*harness, 2)
	for shard := range hs {
		hs[shard] = startWith(t, func(c *Config) {
			c.Store, c.ShardID, c.ShardCount = kv, shard, 2
			c.GuildIDs = []string{guilds[shard]}
			c.Follows.Interval = config.Duration{Duration: 100 * time.Millisecond}
			c.Follows.Jitter = config.Duration{}
		}, startOptions{siteOpts: map[string]any{"mangadex": o}})
	}
	series := mdtest.TitleURL("https://mangadex.org")
	for shard, h := range hs {
		tok := h.command("follow", dl{guild: guilds[shard], user: "u1", perms: discordgo.PermissionManageChannels, opts: map[string]string{"url": series}})
		h.waitFor("follow answer", h.originalHas(tok, "Following"))
	}
	if fs, _ := kv.Follows(nil); len(fs) != 2 {
		t.Fatalf("%d follows in the shared store, want 2", len(fs))
	}
	api.Add("7", time.Now().Add(-time.Minute))
	for _, h := range hs {
		h.waitFor("announcement", func() bool { return len(h.fd.ChannelMessages()) > 0 })
	}
	for _, h := range hs {
		h.waitRounds(api, 4)
	}
	for shard, h := range hs {
		ms := h.fd.ChannelMessages()
		if len(ms) != 1 || ms[0].ChannelID != channelOf(guilds[shard]) {
			var where []string
			for _, m := range ms {
				where = append(where, m.ChannelID)
			}
			t.Errorf("shard %d posted in %v; want once in %s", shard, where, channelOf(guilds[shard]))
		}
	}
}
