package bot

import (
	"context"
	"errors"
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

// pauseEdits stops progress edits for d (Discord's retry_after).
func (b *Bot) pauseEdits(d time.Duration) {
	until := time.Now().Add(d).UnixNano()
	for {
		old := b.editPause.Load()
		if old >= until || b.editPause.CompareAndSwap(old, until) {
			return
		}
	}
}

// editPauseLeft is how long progress edits must still wait (0: none).
func (b *Bot) editPauseLeft() time.Duration {
	return time.Duration(max(b.editPause.Load()-time.Now().UnixNano(), 0))
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

// finalEdit makes the last state of a status message land: retried, and
// through the bot token when the interaction token is gone (as a new
// channel message when the status message's id is unknown; its id is
// learnt, so later edits change that message rather than post another).
// It reports whether the edit landed.
func (b *Bot) finalEdit(w *watcher, v view) bool {
	st := w.st
	if st == nil {
		return false
	}
	err := b.retry(func(ctx context.Context) error {
		err := st.edit(ctx, v, true)
		if err == errNoMessage {
			content := strings.TrimSpace("<@" + w.userID + "> " + strings.TrimPrefix(v.Content, "<@"+w.userID+">"))
			var msg *discordgo.Message
			msg, err = b.s.ChannelMessageSendComplex(w.i.ChannelID, &discordgo.MessageSend{
				Content: content, Embeds: v.Embeds, Components: v.Components,
				AllowedMentions: &discordgo.MessageAllowedMentions{Users: []string{w.userID}},
			}, discordgo.WithContext(ctx))
			if err == nil {
				if msg != nil && msg.ChannelID == "" {
					msg.ChannelID = w.i.ChannelID
				}
				st.learn(msg, v)
			}
		}
		return err
	})
	if err != nil {
		w.logger(b).Warn("final status edit failed", "err", err)
		return false
	}
	return true
}
