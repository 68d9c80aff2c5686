package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
)

// statusMsg keeps one status message in step with its job: at most one
// edit per EditInterval, no backlog (the view is rendered when the edit is
// sent, so the latest state wins), unchanged views are not sent, and the
// global limiter spreads progress edits of all messages (they share one
// bucket in discordgo). close stops it; the final edit is the caller's.
type statusMsg struct {
	b      *Bot
	w      *watcher
	render func() view
	kickc  chan struct{}
	stopc  chan struct{}
	done   chan struct{}
	once   sync.Once
	// shown, when set, is closed once the requester's status message is
	// out (or failed to go out): a request that joined a job in progress
	// is a watcher before its response is sent, and delivery to it must
	// wait for that response (an edit of @original before it 404s, and
	// the response sent after would overwrite the result with a stale
	// view). nil: shown already (a resumed job's status).
	shown     chan struct{}
	shownOnce sync.Once

	mu        sync.Mutex
	msgID     string // learned from edit responses
	channelID string
	dead      bool // interaction token no longer usable
	last      string
	started   bool // loop running (start called before close)
	stopped   bool // close called
}

// view is what a status message shows.
type view struct {
	Content    string
	Embeds     []*discordgo.MessageEmbed
	Components []discordgo.MessageComponent
}

func (v view) key() string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (b *Bot) newStatus(w *watcher, render func() view) *statusMsg {
	m := &statusMsg{b: b, w: w, render: render, kickc: make(chan struct{}, 1),
		stopc: make(chan struct{}), done: make(chan struct{}), channelID: w.i.ChannelID}
	return m
}

// pending marks the status message as not shown yet (see shown); called
// before the watcher is added to a job.
func (m *statusMsg) pending() { m.shown = make(chan struct{}) }

// markShown says the status response went out, or failed for good.
func (m *statusMsg) markShown() {
	if m.shown != nil {
		m.shownOnce.Do(func() { close(m.shown) })
	}
}

// waitShown waits until the status response went out (or failed), or ctx
// ends.
func (m *statusMsg) waitShown(ctx context.Context) {
	if m.shown == nil {
		return
	}
	select {
	case <-m.shown:
	case <-ctx.Done():
	}
}

// start begins following the job; initial is the view already shown.
func (m *statusMsg) start(initial view) {
	m.mu.Lock()
	m.last = initial.key()
	if m.started || m.stopped {
		// Closed already (the job ended first): nothing to follow.
		m.mu.Unlock()
		return
	}
	m.started = true
	m.mu.Unlock()
	go m.loop()
}

func (m *statusMsg) kick() {
	select {
	case m.kickc <- struct{}{}:
	default:
	}
}

// close stops progress edits and waits for one in flight. It returns at
// once when the loop never started (a job that ends before its status
// message was shown, or a resumed job that goes straight to delivery).
func (m *statusMsg) close() {
	m.mu.Lock()
	m.stopped = true
	started := m.started
	m.mu.Unlock()
	m.once.Do(func() { close(m.stopc) })
	if started {
		<-m.done
	}
}

func (m *statusMsg) loop() {
	defer close(m.done)
	interval := m.b.cfg.EditInterval
	var last time.Time
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-m.stopc:
			cancel()
		case <-m.done:
		}
	}()
	for {
		select {
		case <-m.kickc:
		case <-m.stopc:
			return
		}
		if wait := time.Until(last.Add(interval)); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-m.stopc:
				t.Stop()
				return
			}
		}
		if wait := m.b.editPauseLeft(); wait > 0 {
			// Discord said to wait: wait it out (the edit after it shows
			// the state of then), so the status does not stay stale when
			// no progress comes after the pause.
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-m.stopc:
				t.Stop()
				return
			}
		}
		if err := m.b.edits.Wait(ctx); err != nil {
			return
		}
		v := m.render()
		k := v.key()
		m.mu.Lock()
		same := k == m.last
		m.mu.Unlock()
		if same {
			continue
		}
		if err := m.edit(ctx, v, false); err != nil {
			m.w.logger(m.b).Debug("status edit failed", "err", err)
			var rl *discordgo.RateLimitError
			if errors.As(err, &rl) {
				m.kick() // again once the pause is over
			}
		}
		last = time.Now()
	}
}

// edit sends a view (no files) to the status message: through the
// interaction token while it lives, else through the bot token.
func (m *statusMsg) edit(ctx context.Context, v view, final bool) error {
	s := m.b.s
	if !m.tokenDead() {
		e := &discordgo.WebhookEdit{Content: &v.Content, Embeds: &v.Embeds, Components: &v.Components}
		// Progress edits never wait out a rate limit inside discordgo (it
		// sleeps ignoring ctx, and webhook edits share one bucket): they
		// give up and progress pauses until retry_after has passed. Final
		// edits keep retrying.
		msg, err := s.InteractionResponseEdit(m.w.i, e, discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(final))
		if err == nil {
			m.learn(msg, v)
			return nil
		}
		var rl *discordgo.RateLimitError
		if !final && errors.As(err, &rl) {
			m.b.pauseEdits(rl.RetryAfter)
			return err
		}
		if !isTokenErr(err) {
			return err
		}
		m.markDead()
	}
	m.mu.Lock()
	id, ch := m.msgID, m.channelID
	m.mu.Unlock()
	if id == "" || ch == "" {
		return errNoMessage
	}
	e := &discordgo.MessageEdit{ID: id, Channel: ch, Content: &v.Content, Embeds: &v.Embeds, Components: &v.Components}
	msg, err := s.ChannelMessageEditComplex(e, discordgo.WithContext(ctx))
	if err == nil {
		m.learn(msg, v)
	}
	return err
}

var errNoMessage = errors.New("status message unknown; cannot edit with the bot token")

func (m *statusMsg) learn(msg *discordgo.Message, v view) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.last = v.key()
	if msg != nil && msg.ID != "" {
		m.msgID = msg.ID
		if msg.ChannelID != "" {
			m.channelID = msg.ChannelID
		}
	}
}

func (m *statusMsg) messageID() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.msgID
}

func (m *statusMsg) tokenDead() bool { return m.tokenDeadFor(0) }

// tokenDeadFor reports whether the interaction token is dead, or would die
// before a request that may take d is over.
func (m *statusMsg) tokenDeadFor(d time.Duration) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dead || time.Since(m.w.at)+d > m.b.cfg.TokenTTL
}

func (m *statusMsg) markDead() {
	m.mu.Lock()
	m.dead = true
	m.mu.Unlock()
}

// isTokenErr reports an expired or invalid interaction token.
func isTokenErr(err error) bool {
	var re *discordgo.RESTError
	if !errors.As(err, &re) {
		return false
	}
	if re.Message != nil && (re.Message.Code == discordgo.ErrCodeInvalidWebhookTokenProvided || re.Message.Code == discordgo.ErrCodeUnknownWebhook) {
		return true
	}
	return re.Response != nil && re.Response.StatusCode == http.StatusUnauthorized
}

// isTooLarge reports Discord's 413 (code 40005).
func isTooLarge(err error) bool {
	var re *discordgo.RESTError
	if !errors.As(err, &re) {
		return false
	}
	return (re.Response != nil && re.Response.StatusCode == http.StatusRequestEntityTooLarge) ||
		(re.Message != nil && re.Message.Code == discordgo.ErrCodeRequestEntityTooLarge)
}

// retryable reports errors worth another try: transport errors, 429, 5xx.
func retryable(err error) bool {
	var re *discordgo.RESTError
	if errors.As(err, &re) {
		if re.Response == nil {
			return true
		}
		c := re.Response.StatusCode
		return c == http.StatusTooManyRequests || c >= 500
	}
	var rl *discordgo.RateLimitError
	if errors.As(err, &rl) {
		return true
	}
	return !errors.Is(err, errNoMessage)
}

// ---- rendering ----

const (
	colorQueued = 0xF1C40F
	colorRun    = 0x3498DB
	colorDone   = 0x2ECC71
	colorFail   = 0xE74C3C
	colorCancel = 0x95A5A6
)

func bar(done, total, width int) string {
	if total <= 0 {
		return strings.Repeat("░", width)
	}
	n := done * width / total
	return strings.Repeat("█", n) + strings.Repeat("░", width-n)
}

func human(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func trunc(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// view renders a job as watcher w sees it (extra: delivery lines).
func (j *job) view(extra string) view { return j.render(extra, "") }

// failedView renders the job as failed with msg (a delivery that failed
// after the download succeeded).
func (j *job) failedView(msg string) view { return j.render("", msg) }

func (j *job) render(extra, failed string) view {
	pos := j.b.position(j)
	j.mu.Lock()
	defer j.mu.Unlock()
	state, outcome := j.state, j.outcome
	if failed != "" {
		state, outcome = stateFailed, failed
	}
	p := j.prog
	total := p.PagesTotal
	if total == 0 && j.plan != nil {
		total = j.plan.Pages
	}
	e := &discordgo.MessageEmbed{Title: trunc(j.plan.Title, 256), URL: j.plan.Request.URL}
	if !strings.HasPrefix(e.URL, "http") {
		e.URL = ""
	}
	var desc strings.Builder
	switch state {
	case stateQueued:
		e.Color = colorQueued
		fmt.Fprintf(&desc, "⏳ Waiting in queue")
		if pos > 0 {
			fmt.Fprintf(&desc, " — position **%d**", pos)
		}
	case stateRunning:
		e.Color = colorRun
		stage := p.Stage
		if stage == "" {
			stage = "starting"
		}
		pct := 0
		if total > 0 {
			pct = (p.PagesDone + p.PagesFailed) * 100 / total
		}
		fmt.Fprintf(&desc, "`%s` %d%%\n%s", bar(p.PagesDone+p.PagesFailed, total, 20), pct, stage)
		if p.Chapters > 1 {
			fmt.Fprintf(&desc, " (chapter %d of %d)", p.Chapter, p.Chapters)
		}
	case stateDone:
		e.Color = colorDone
		fmt.Fprintf(&desc, "`%s` ✅ Done", bar(1, 1, 20))
		if f := j.plan.Request.Format; f != "" {
			desc.WriteString(": " + strings.ToUpper(f))
		}
		if j.fromCache {
			desc.WriteString(" ⚡ from cache")
		}
	case stateFailed:
		e.Color = colorFail
		fmt.Fprintf(&desc, "❌ Failed: %s", outcome)
	case stateCancelled:
		e.Color = colorCancel
		if j.paused {
			desc.WriteString("⏸ Paused: the bot is restarting; this job resumes when it is back.")
		} else if j.canceler != "" {
			fmt.Fprintf(&desc, "🛑 Cancelled by <@%s>", j.canceler)
		} else {
			fmt.Fprintf(&desc, "🛑 Cancelled: %s", j.outcome)
		}
	}
	if j.note != "" && (state == stateQueued || state == stateRunning) {
		desc.WriteString("\n" + j.note)
	}
	if extra != "" {
		desc.WriteString("\n" + extra)
	}
	e.Description = trunc(desc.String(), 4096)
	e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: "Site", Value: j.plan.Site, Inline: true})
	if f := j.plan.Request.Format; f != "" {
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: "Format", Value: strings.ToUpper(f), Inline: true})
	}
	if len(j.plan.Credits) > 0 {
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: "Credits", Value: trunc(strings.Join(j.plan.Credits, ", "), 1024), Inline: true})
	}
	pages := fmt.Sprintf("%d done · %d failed · %d total", p.PagesDone, p.PagesFailed, total)
	e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: "Pages", Value: pages, Inline: false})
	if state == stateRunning && !j.started.IsZero() {
		el := time.Since(j.started).Seconds()
		if el > 0 && p.Bytes > 0 {
			e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: "Speed", Value: human(int64(float64(p.Bytes)/el)) + "/s", Inline: true})
		}
		if n := p.PagesDone + p.PagesFailed; n > 0 && total > n && el > 0 {
			eta := time.Duration(float64(total-n) * el / float64(n) * float64(time.Second)).Round(time.Second)
			e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: "ETA", Value: eta.String(), Inline: true})
		}
	}
	if state == stateQueued && pos > 0 {
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: "Queue position", Value: fmt.Sprint(pos), Inline: true})
	}
	e.Footer = &discordgo.MessageEmbedFooter{Text: "job " + j.id}
	v := view{Embeds: []*discordgo.MessageEmbed{e}, Components: []discordgo.MessageComponent{}}
	if state == stateQueued || state == stateRunning {
		v.Components = []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: "Cancel", Style: discordgo.DangerButton, CustomID: "cancel:" + j.id},
		}}}
	}
	return v
}
