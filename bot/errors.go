package bot

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/mangabot/mangabot/pipeline"
)

var (
	errShutdown = pipeline.ErrStopping
	errCanceled = errors.New("cancelled")
)

// What users see when delivery fails: never the error itself (Discord's
// carry interaction tokens in URLs, the file system's carry paths).
const (
	msgMissing     = "the result went missing; try again."
	msgUploadFail  = "the upload to Discord failed; try again later."
	msgPublishFail = "the file could not be published; try again later."
	msgRefused     = "Discord refused the file as too large."
	msgRebuildFail = "the result could not be split into smaller parts; try again later."
)

var (
	errTooManyParts = errors.New("too many parts")
	errRebuild      = errors.New("rebuilding the result failed")
)

// publicErr is what a user may see of an error: failures of Discord calls
// and of the file system become a generic line (their texts carry URLs
// with interaction tokens, or paths); other errors (the site's, the
// link's) are shown on one line.
func publicErr(err error) string {
	var (
		re *discordgo.RESTError
		rl *discordgo.RateLimitError
		pe *fs.PathError
		le *os.LinkError
		se *os.SyscallError
		ue *url.Error
	)
	switch {
	case errors.As(err, &re), errors.As(err, &rl):
		return "a request to Discord failed; try again later"
	case errors.As(err, &ue) && isDiscordURL(ue.URL):
		return "a request to Discord failed; try again later"
	case errors.As(err, &pe), errors.As(err, &le), errors.As(err, &se):
		return "an internal error occurred; try again later"
	}
	msg := err.Error()
	if strings.Contains(msg, "/webhooks/") || strings.Contains(msg, "/interactions/") {
		return "a request to Discord failed; try again later"
	}
	return oneLine(msg)
}

func isDiscordURL(raw string) bool {
	return strings.Contains(raw, "/webhooks/") || strings.Contains(raw, "/interactions/") ||
		strings.Contains(raw, "discord.com") || strings.Contains(raw, "/api/v")
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

// retry runs f until it succeeds, fails for good, or attempts run out.
func (b *Bot) retry(f func(ctx context.Context) error) error {
	delay := b.cfg.RetryDelay
	var err error
	for attempt := 0; attempt < b.cfg.Retries; attempt++ {
		err = f(b.hardStop)
		if err == nil || !retryable(err) || isTokenErr(err) || isTooLarge(err) {
			return err
		}
		select {
		case <-time.After(delay):
		case <-b.hardStop.Done():
			return err
		}
		delay *= 2
	}
	return err
}
