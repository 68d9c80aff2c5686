package fakediscord

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// rewrite sends requests for https://discord.com to the fake.
type rewrite struct{ base *url.URL }

func (rw rewrite) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host = rw.base.Scheme, rw.base.Host
	r.Host = rw.base.Host
	return http.DefaultTransport.RoundTrip(r)
}

// session is a discordgo session whose REST calls go to fd.
func session(t *testing.T, fd *Server) *discordgo.Session {
	t.Helper()
	base, _ := url.Parse(fd.URL)
	s, err := discordgo.New("Bot test-token")
	if err != nil {
		t.Fatal(err)
	}
	s.Client = &http.Client{Transport: rewrite{base}, Timeout: 10 * time.Second}
	return s
}

func TestDiscordgoConnectsAndReceivesInteraction(t *testing.T) {
	fd := New()
	defer fd.Close()
	s := session(t, fd)
	s.Identify.Intents = discordgo.IntentsGuilds
	got := make(chan *discordgo.InteractionCreate, 1)
	raw := make(chan []byte, 1)
	s.AddHandler(func(_ *discordgo.Session, i *discordgo.InteractionCreate) { got <- i })
	s.AddHandler(func(_ *discordgo.Session, e *discordgo.Event) {
		if e.Type == "INTERACTION_CREATE" {
			raw <- e.RawData
		}
	})
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.State.User == nil || s.State.User.ID != fd.BotUserID {
		t.Fatalf("READY user not applied: %+v", s.State.User)
	}

	// Registration through the rewritten client.
	cmds, err := s.ApplicationCommandBulkOverwrite(fd.AppID, "g1", []*discordgo.ApplicationCommand{{Name: "manga", Description: "d"}})
	if err != nil || len(cmds) != 1 || cmds[0].ID == "" {
		t.Fatalf("bulk overwrite: %v %+v", err, cmds)
	}
	if !strings.Contains(string(fd.Commands("g1")), `"manga"`) {
		t.Fatalf("commands not recorded: %s", fd.Commands("g1"))
	}

	id, token, err := fd.Dispatch(Interaction{Type: 2, GuildID: "g1", ChannelID: "c1", UserID: "u1",
		Permissions: discordgo.PermissionManageMessages, AttachmentSizeLimit: 12345,
		Data: map[string]any{"id": "1", "name": "manga", "type": 1}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ic *discordgo.InteractionCreate
	select {
	case ic = <-got:
	case <-ctx.Done():
		t.Fatal("no interaction received")
	}
	if ic.ID != id || ic.Token != token || ic.Member == nil || ic.Member.User.ID != "u1" ||
		ic.Member.Permissions&discordgo.PermissionManageMessages == 0 || ic.ApplicationCommandData().Name != "manga" {
		t.Fatalf("bad interaction: %+v", ic.Interaction)
	}
	if r := <-raw; !strings.Contains(string(r), `"attachment_size_limit":12345`) {
		t.Fatalf("raw payload lacks limit: %s", r)
	}

	// Deferred response, then an edit with a file, then an over-limit upload.
	if err := s.InteractionRespond(ic.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource}); err != nil {
		t.Fatal(err)
	}
	content := "hello"
	m, err := s.InteractionResponseEdit(ic.Interaction, &discordgo.WebhookEdit{Content: &content,
		Files: []*discordgo.File{{Name: "a.pdf", Reader: strings.NewReader("12345")}}})
	if err != nil || m.Content != "hello" || len(m.Attachments) != 1 {
		t.Fatalf("edit: %v %+v", err, m)
	}
	fd.SetAttachmentLimit(3)
	_, err = s.InteractionResponseEdit(ic.Interaction, &discordgo.WebhookEdit{Files: []*discordgo.File{{Name: "b.pdf", Reader: strings.NewReader("12345")}}})
	var re *discordgo.RESTError
	if !asREST(err, &re) || re.Response.StatusCode != 413 || re.Message == nil || re.Message.Code != 40005 {
		t.Fatalf("want 413/40005, got %v", err)
	}

	// 429 is retried by discordgo; the edit lands.
	fd.RateLimit("PATCH", "/messages/@original", 1, 0.01)
	content = "after 429"
	if _, err := s.InteractionResponseEdit(ic.Interaction, &discordgo.WebhookEdit{Content: &content}); err != nil {
		t.Fatal(err)
	}
	if o := fd.Original(token); o == nil || o.Content != "after 429" {
		t.Fatalf("original: %+v", o)
	}

	// Expired token.
	fd.ExpireToken(token)
	_, err = s.InteractionResponseEdit(ic.Interaction, &discordgo.WebhookEdit{Content: &content})
	if !asREST(err, &re) || re.Message == nil || re.Message.Code != 50027 {
		t.Fatalf("want 50027, got %v", err)
	}

	// Bot-token channel message.
	cm, err := s.ChannelMessageSendComplex("c1", &discordgo.MessageSend{Content: "x",
		Files: []*discordgo.File{{Name: "c.pdf", Reader: strings.NewReader("12")}}})
	if err != nil || cm.ChannelID != "c1" || len(fd.ChannelMessages()) != 1 {
		t.Fatalf("channel send: %v %+v", err, cm)
	}
}

func asREST(err error, re **discordgo.RESTError) bool {
	r, ok := err.(*discordgo.RESTError)
	if ok {
		*re = r
	}
	return ok
}

// GET /gateway/bot recommends the shard count the test set.
func TestRecommendedShards(t *testing.T) {
	fd := New()
	defer fd.Close()
	s := session(t, fd)
	for _, n := range []int{1, 7} {
		if n != 1 {
			fd.SetRecommendedShards(n)
		}
		gb, err := s.GatewayBot()
		if err != nil || gb.Shards != n {
			t.Fatalf("GatewayBot: %+v, %v; want %d shards", gb, err, n)
		}
	}
}
