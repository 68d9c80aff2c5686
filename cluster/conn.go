package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mangabot/mangabot/config"
	"github.com/mangabot/mangabot/internal/s3store"
)

// Options say how to reach NATS and how jobs behave there. Zero values
// take the defaults of config.Default.
type Options struct {
	URL                       string
	CredsFile, User, Password string
	TLSCA, TLSCert, TLSKey    string
	Prefix                    string        // default "mangabot"
	AckWait                   time.Duration // default 30s
	MaxAttempts               int           // default 3
	ResultTTL                 time.Duration // default 1h
	Name                      string        // connection name (shown by the server)
	Logger                    *slog.Logger
	// ReconnectWait between reconnect attempts; default 1s.
	ReconnectWait time.Duration
	// S3, when its Endpoint is set, holds finished files instead of the
	// object store ([cluster] s3_*).
	S3 s3store.Options
}

// OptionsFrom maps [cluster] onto Options.
func OptionsFrom(c config.Cluster) Options {
	return Options{URL: c.NATSURL, CredsFile: c.CredsFile, User: c.User, Password: c.Password,
		TLSCA: c.TLSCA, TLSCert: c.TLSCert, TLSKey: c.TLSKey, Prefix: c.Prefix,
		AckWait: c.AckWait.Duration, MaxAttempts: c.MaxAttempts, ResultTTL: c.ResultTTL.Duration,
		S3: s3store.Options{Endpoint: c.S3Endpoint, Bucket: c.S3Bucket, Region: c.S3Region, AccessKey: c.S3AccessKey,
			SecretKey: c.S3SecretKey, Prefix: c.S3Prefix, PathStyle: c.S3PathStyle}}
}

func (o *Options) defaults() {
	d := config.Default().Cluster
	if o.Prefix == "" {
		o.Prefix = d.Prefix
	}
	if o.AckWait <= 0 {
		o.AckWait = d.AckWait.Duration
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = d.MaxAttempts
	}
	if o.ResultTTL <= 0 {
		o.ResultTTL = d.ResultTTL.Duration
	}
	if o.ReconnectWait <= 0 {
		o.ReconnectWait = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Conn is a connection to the cluster with its stream, consumer and
// buckets made (or found).
type Conn struct {
	o      Options
	nc     *nats.Conn
	js     jetstream.JetStream
	cons   jetstream.Consumer
	state  jetstream.KeyValue
	limits jetstream.KeyValue
	pages  jetstream.KeyValue
	files  jetstream.ObjectStore
	// The jobs stream and the gateways' consumer of its max-deliveries
	// advisories (advisory.go).
	jobs    jetstream.Stream
	giveUps jetstream.Consumer
	s3      *s3store.Store // nil: finished files in the object store
	// bg ends at Close: the gateway's background sweep.
	bg   context.Context
	stop context.CancelFunc
}

// Connect dials NATS and makes sure the stream, consumer and buckets
// exist with this configuration. It keeps reconnecting after a loss.
func Connect(ctx context.Context, o Options) (*Conn, error) {
	o.defaults()
	if o.URL == "" {
		return nil, errors.New("connect to nats: no [cluster] nats_url")
	}
	opts := []nats.Option{nats.Name(o.Name), nats.MaxReconnects(-1), nats.ReconnectWait(o.ReconnectWait),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				o.Logger.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { o.Logger.Info("nats reconnected") }),
	}
	if o.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(o.CredsFile))
	}
	if o.User != "" {
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	if o.TLSCA != "" {
		opts = append(opts, nats.RootCAs(o.TLSCA))
	}
	if o.TLSCert != "" || o.TLSKey != "" {
		opts = append(opts, nats.ClientCert(o.TLSCert, o.TLSKey))
	}
	nc, err := nats.Connect(o.URL, opts...)
	if err != nil {
		return nil, connectError(err)
	}
	c := &Conn{o: o, nc: nc}
	if err := c.setup(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("set up jetstream: %w", err)
	}
	if err := c.setupS3(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	c.bg, c.stop = context.WithCancel(context.Background())
	return c, nil
}

func (c *Conn) setup(ctx context.Context) error {
	var err error
	if c.js, err = jetstream.New(c.nc); err != nil {
		return err
	}
	p := c.o.Prefix
	if _, err := ensureStream(ctx, c.js, jetstream.StreamConfig{
		Name: strings.ToUpper(p) + "_JOBS", Subjects: []string{p + ".jobs.>"},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage,
		// A gateway that publishes a job again (resume) within this window
		// does not queue it twice (the message id is the job id).
		Duplicates: 10 * time.Minute,
	}); err != nil {
		return fmt.Errorf("jobs stream: %w", err)
	}
	if c.cons, err = c.js.CreateOrUpdateConsumer(ctx, strings.ToUpper(p)+"_JOBS", jetstream.ConsumerConfig{
		Durable: p + "-workers", AckPolicy: jetstream.AckExplicitPolicy, AckWait: c.o.AckWait,
		// One delivery more than the attempts: the worker that gets it
		// fails the job with a message instead of running it.
		MaxDeliver: c.o.MaxAttempts + 1,
	}); err != nil {
		return fmt.Errorf("workers consumer: %w", err)
	}
	if err := c.setupGiveUps(ctx, strings.ToUpper(p)+"_JOBS", p+"-workers"); err != nil {
		return err
	}
	if c.state, err = ensureKV(ctx, c.js, jetstream.KeyValueConfig{
		Bucket: p + "-jobs", Description: "mangabot job state", TTL: 7 * 24 * time.Hour, Storage: jetstream.FileStorage,
	}); err != nil {
		return fmt.Errorf("job state bucket: %w", err)
	}
	if c.limits, err = ensureKV(ctx, c.js, jetstream.KeyValueConfig{
		Bucket: p + "-limits", Description: "mangabot per-host token buckets", TTL: time.Hour, Storage: jetstream.MemoryStorage,
	}); err != nil {
		return fmt.Errorf("limits bucket: %w", err)
	}
	if c.pages, err = ensureKV(ctx, c.js, jetstream.KeyValueConfig{
		Bucket: p + "-pages", Description: "mangabot pages of running jobs", TTL: c.o.ResultTTL, Storage: jetstream.FileStorage,
	}); err != nil {
		return fmt.Errorf("pages bucket: %w", err)
	}
	if c.files, err = ensureObjectStore(ctx, c.js, jetstream.ObjectStoreConfig{
		Bucket: p + "-files", Description: "mangabot finished files", TTL: c.o.ResultTTL, Storage: jetstream.FileStorage,
	}); err != nil {
		return fmt.Errorf("files bucket: %w", err)
	}
	return nil
}

// ensure opens a stream or bucket, creating it when missing, and leaves
// an existing one as it is: every process of the cluster runs it at
// start, and a stream update racing another process's consumer creation
// trips a data race inside nats-server (seen with the embedded server
// under -race), while rewriting an equal config gains nothing. missing
// is open's error for "no such thing", taken create's for "made by
// another process meanwhile".
func ensure[T any](open, create func() (T, error), missing, taken error) (T, error) {
	v, err := open()
	if errors.Is(err, missing) {
		v, err = create()
		if errors.Is(err, taken) {
			return open()
		}
	}
	return v, err
}

func ensureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	return ensure(func() (jetstream.Stream, error) { return js.Stream(ctx, cfg.Name) },
		func() (jetstream.Stream, error) { return js.CreateStream(ctx, cfg) },
		jetstream.ErrStreamNotFound, jetstream.ErrStreamNameAlreadyInUse)
}

func ensureKV(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	return ensure(func() (jetstream.KeyValue, error) { return js.KeyValue(ctx, cfg.Bucket) },
		func() (jetstream.KeyValue, error) { return js.CreateKeyValue(ctx, cfg) },
		jetstream.ErrBucketNotFound, jetstream.ErrBucketExists)
}

func ensureObjectStore(ctx context.Context, js jetstream.JetStream, cfg jetstream.ObjectStoreConfig) (jetstream.ObjectStore, error) {
	return ensure(func() (jetstream.ObjectStore, error) { return js.ObjectStore(ctx, cfg.Bucket) },
		func() (jetstream.ObjectStore, error) { return js.CreateObjectStore(ctx, cfg) },
		jetstream.ErrBucketNotFound, jetstream.ErrBucketExists)
}

// Close drains nothing: jobs in flight are redelivered elsewhere.
func (c *Conn) Close() {
	c.stop()
	c.nc.Close()
}

// Healthy reports a live connection to NATS (for /healthz).
func (c *Conn) Healthy() bool { return c.nc.IsConnected() }

var unsafeKey = regexp.MustCompile(`[^-_a-zA-Z0-9.]`)

// token makes s fit a subject token or KV key.
func token(s string) string {
	s = unsafeKey.ReplaceAllString(strings.ToLower(s), "_")
	s = strings.Trim(strings.ReplaceAll(s, "..", "_"), ".")
	if s == "" {
		return "_"
	}
	return s
}

func (c *Conn) jobSubject(host string) string {
	return c.o.Prefix + ".jobs." + strings.ReplaceAll(token(host), ".", "_")
}
func (c *Conn) progressSubject(id string) string { return c.o.Prefix + ".progress." + token(id) }
func (c *Conn) cancelSubject(id string) string   { return c.o.Prefix + ".cancel." + token(id) }
