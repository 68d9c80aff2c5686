package s3store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"mime"
	"path/filepath"
	"time"
)

// Links hands out files as presigned S3 URLs (the bot's Publisher when
// [cluster] s3_* is set): the file goes to <prefix>links/<random id>/<name>
// with its Content-Type and an attachment Content-Disposition, and the URL
// expires with the link TTL. Gateways need no public server for it.
type Links struct {
	s           *Store
	ttl         time.Duration
	contentType func(name string) string
	now         func() time.Time
}

// linksDir is where link objects live under the prefix.
const linksDir = "links/"

// NewLinks publishes on s for ttl, clamped to MaxPresign (SigV4's bound);
// contentType names a file's media type.
func NewLinks(s *Store, ttl time.Duration, contentType func(name string) string) *Links {
	return &Links{s: s, ttl: min(ttl, MaxPresign), contentType: contentType, now: time.Now}
}

// TTL is how long a link is valid (the configured TTL, clamped).
func (l *Links) TTL() time.Duration { return l.ttl }

// Publish uploads the file at path and returns its presigned URL; the
// file stays where it is.
func (l *Links) Publish(ctx context.Context, path string) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	name := filepath.Base(path)
	key := linksDir + hex.EncodeToString(b) + "/" + name
	if _, err := l.s.Put(ctx, key, path, Meta{ContentType: l.contentType(name),
		ContentDisposition: mime.FormatMediaType("attachment", map[string]string{"filename": name})}); err != nil {
		return "", err
	}
	u, err := l.s.Presign(ctx, key, l.ttl)
	if err != nil {
		_ = l.s.Delete(ctx, key)
		return "", err
	}
	return u, nil
}

// Sweep deletes link objects whose URLs have expired (a minute of slack
// for the time between upload and signing).
func (l *Links) Sweep(ctx context.Context) error {
	_, err := l.s.Sweep(ctx, linksDir, l.now().Add(-l.ttl-time.Minute))
	return err
}
