package bot

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/mangabot/mangabot/internal/humanize"
	"github.com/mangabot/mangabot/pipeline"
)

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

var stateColor = map[jobState]int{
	stateQueued:    0xF1C40F,
	stateRunning:   0x3498DB,
	stateDone:      0x2ECC71,
	stateFailed:    0xE74C3C,
	stateCancelled: 0x95A5A6,
}

func bar(done, total, width int) string {
	if total <= 0 {
		return strings.Repeat("░", width)
	}
	n := done * width / total
	return strings.Repeat("█", n) + strings.Repeat("░", width-n)
}

func trunc(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return trunc(s, 300)
}

// view renders a job as watcher w sees it (extra: delivery lines).
func (j *job) view(extra string) view { return j.render(extra, "") }

// failedView renders the job as failed with msg (a delivery that failed
// after the download succeeded).
func (j *job) failedView(msg string) view { return j.render("", msg) }

func (j *job) render(extra, failed string) view {
	return j.snapshot(extra, failed).render()
}

// statusData is what a status message is rendered from: a copy of the
// job taken under its lock, so rendering needs no locks.
type statusData struct {
	id        string
	plan      *pipeline.Plan
	state     jobState
	outcome   string // failure or cancel reason
	prog      pipeline.Progress
	total     int           // pages
	pos       int           // queue position; 0: not waiting
	elapsed   time.Duration // running for; 0: unknown
	fromCache bool
	paused    bool
	canceler  string
	note      string // shown while queued or running
	fitted    string // how the result was fitted, shown when done
	extra     string // delivery lines
}

// snapshot copies what the status shows; failed, when set, shows the job
// as failed with that message (its delivery failed).
func (j *job) snapshot(extra, failed string) statusData {
	pos := j.b.position(j)
	j.mu.Lock()
	defer j.mu.Unlock()
	s := statusData{id: j.id, plan: j.plan, state: j.state, outcome: j.outcome, prog: j.prog,
		total: j.prog.PagesTotal, pos: pos, fromCache: j.fromCache, paused: j.paused,
		canceler: j.canceler, note: j.note, fitted: j.fitted, extra: extra}
	if failed != "" {
		s.state, s.outcome = stateFailed, failed
	}
	if s.total == 0 {
		s.total = j.plan.Pages
	}
	if s.state == stateRunning && !j.started.IsZero() {
		s.elapsed = time.Since(j.started)
	}
	return s
}

func (s statusData) active() bool { return s.state == stateQueued || s.state == stateRunning }

// render builds the status message: one embed and, while the job can be
// stopped, its cancel button.
func (s statusData) render() view {
	e := &discordgo.MessageEmbed{
		Title:       trunc(s.plan.Title, 256),
		Color:       stateColor[s.state],
		Description: trunc(s.description(), 4096),
		Fields:      s.fields(),
		Footer:      &discordgo.MessageEmbedFooter{Text: "job " + s.id},
	}
	if u := s.plan.Request.URL; strings.HasPrefix(u, "http") {
		e.URL = u
	}
	v := view{Embeds: []*discordgo.MessageEmbed{e}, Components: []discordgo.MessageComponent{}}
	if s.active() {
		v.Components = []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: "Cancel", Style: discordgo.DangerButton, CustomID: "cancel:" + s.id},
		}}}
	}
	return v
}

// description is the state line (with a progress bar while running),
// then the note and the delivery lines.
func (s statusData) description() string {
	var desc strings.Builder
	p := s.prog
	switch s.state {
	case stateQueued:
		desc.WriteString("⏳ Waiting in queue")
		if s.pos > 0 {
			fmt.Fprintf(&desc, " — position **%d**", s.pos)
		}
	case stateRunning:
		stage := p.Stage
		if stage == "" {
			stage = "starting"
		}
		pct := 0
		if s.total > 0 {
			pct = (p.PagesDone + p.PagesFailed) * 100 / s.total
		}
		fmt.Fprintf(&desc, "`%s` %d%%\n%s", bar(p.PagesDone+p.PagesFailed, s.total, 20), pct, stage)
		if p.Chapters > 1 {
			fmt.Fprintf(&desc, " (chapter %d of %d)", p.Chapter, p.Chapters)
		}
	case stateDone:
		fmt.Fprintf(&desc, "`%s` ✅ Done", bar(1, 1, 20))
		if s.fromCache {
			desc.WriteString(" ⚡ from cache")
		}
	case stateFailed:
		fmt.Fprintf(&desc, "❌ Failed: %s", s.outcome)
	case stateCancelled:
		switch {
		case s.paused:
			desc.WriteString("⏸ Paused: the bot is restarting; this job resumes when it is back.")
		case s.canceler != "":
			fmt.Fprintf(&desc, "🛑 Cancelled by <@%s>", s.canceler)
		default:
			fmt.Fprintf(&desc, "🛑 Cancelled: %s", s.outcome)
		}
	}
	if s.fitted != "" && s.state == stateDone {
		desc.WriteString("\n" + s.fitted)
	}
	if s.note != "" && s.active() {
		desc.WriteString("\n" + s.note)
	}
	if s.extra != "" {
		desc.WriteString("\n" + s.extra)
	}
	return desc.String()
}

// fitLines say how a result was fitted to the upload limit: "📉 fitted
// 23.4 MiB → 9.6 MiB, quality 82" per shrunk file, and why shrinking gave
// way to parts.
func fitLines(out *pipeline.Output) string {
	var lines []string
	for _, f := range out.Fitted {
		lines = append(lines, "📉 "+f.Result.String())
	}
	for _, n := range out.Notes {
		lines = append(lines, "✂️ "+n)
	}
	return strings.Join(lines, "\n")
}

// fields are the site, credits, page counts and, while running, speed and
// ETA (or the queue position while waiting).
func (s statusData) fields() []*discordgo.MessageEmbedField {
	p := s.prog
	fs := []*discordgo.MessageEmbedField{{Name: "Site", Value: s.plan.Site, Inline: true}}
	if f := s.plan.Request.Format; f != "" {
		fs = append(fs, &discordgo.MessageEmbedField{Name: "Format", Value: strings.ToUpper(f), Inline: true})
	}
	if len(s.plan.Credits) > 0 {
		fs = append(fs, &discordgo.MessageEmbedField{Name: "Credits", Value: trunc(strings.Join(s.plan.Credits, ", "), 1024), Inline: true})
	}
	pages := fmt.Sprintf("%d done · %d failed · %d total", p.PagesDone, p.PagesFailed, s.total)
	fs = append(fs, &discordgo.MessageEmbedField{Name: "Pages", Value: pages, Inline: false})
	if el := s.elapsed.Seconds(); el > 0 {
		if p.Bytes > 0 {
			fs = append(fs, &discordgo.MessageEmbedField{Name: "Speed", Value: humanize.Bytes(int64(float64(p.Bytes)/el)) + "/s", Inline: true})
		}
		if n := p.PagesDone + p.PagesFailed; n > 0 && s.total > n {
			eta := time.Duration(float64(s.total-n) * el / float64(n) * float64(time.Second)).Round(time.Second)
			fs = append(fs, &discordgo.MessageEmbedField{Name: "ETA", Value: eta.String(), Inline: true})
		}
	}
	if s.state == stateQueued && s.pos > 0 {
		fs = append(fs, &discordgo.MessageEmbedField{Name: "Queue position", Value: fmt.Sprint(s.pos), Inline: true})
	}
	return fs
}
