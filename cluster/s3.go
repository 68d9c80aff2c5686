package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/mangabot/mangabot/internal/s3store"
	"github.com/mangabot/mangabot/internal/tick"
)

// Finished files go to the object store, or with [cluster] s3_* to an S3
// bucket under <s3_prefix>jobs/<job>/<attempt>.<n>/<name>: large results
// then never pass through NATS. Each File says where it is, so a gateway
// takes what any worker stored.

// jobsDir is where results live under the S3 prefix.
const jobsDir = "jobs/"

// setupS3 makes the S3 client and checks the bucket is there and the keys
// work, so a mistake stops the process at start, not at the first job.
func (c *Conn) setupS3(ctx context.Context) error {
	if c.o.S3.Endpoint == "" {
		return nil
	}
	s, err := s3store.New(c.o.S3)
	if err != nil {
		return err
	}
	if err := s.Check(ctx); err != nil {
		return err
	}
	c.s3 = s
	return nil
}

// S3 is the bucket of [cluster] s3_* (nil when not set): the gateway's
// download links use it too.
func (c *Conn) S3() *s3store.Store { return c.s3 }

// storeFile puts file n of a job's attempt where finished files go.
// Named by attempt too: two runs of one job never write the same object.
func (c *Conn) storeFile(ctx context.Context, id string, attempt, n int, path string) (File, error) {
	name := filepath.Base(path)
	if c.s3 != nil {
		key := fmt.Sprintf("%s%s/%d.%d/%s", jobsDir, id, attempt, n, name)
		size, err := c.s3.Put(ctx, key, path, s3store.Meta{})
		return File{S3Key: key, Name: name, Size: size}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	obj := fmt.Sprintf("%s/%d.%d", id, attempt, n)
	info, err := c.files.Put(ctx, jetstream.ObjectMeta{Name: obj}, f)
	if err != nil {
		return File{}, err
	}
	return File{Object: obj, Name: name, Size: int64(info.Size)}, nil
}

// fetchFile copies a finished file to path through a temp name, so path
// is whole or absent.
func (c *Conn) fetchFile(ctx context.Context, f File, path string) error {
	if f.S3Key != "" {
		if c.s3 == nil {
			return errors.New("it is in S3 but this gateway has no [cluster] s3_endpoint")
		}
		return c.s3.Get(ctx, f.S3Key, path)
	}
	tmp := path + ".part"
	if err := c.files.GetFile(ctx, f.Object, tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// deleteFile drops a finished file; a failure is left to the bucket's TTL
// or the sweep.
func (c *Conn) deleteFile(ctx context.Context, f File) {
	var err error
	switch {
	case f.S3Key != "" && c.s3 != nil:
		err = c.s3.Delete(ctx, f.S3Key)
	case f.Object != "":
		err = c.files.Delete(ctx, f.Object)
	}
	if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		c.o.Logger.Warn("delete result file", "file", f.Name, "err", err)
	}
}

// SweepFiles deletes results in S3 older than result_ttl (what the object
// store's TTL does for its own): files of jobs nobody took, and of
// deletes that failed. It says how many it deleted.
func (c *Conn) SweepFiles(ctx context.Context) (int, error) {
	if c.s3 == nil {
		return 0, nil
	}
	return c.s3.Sweep(ctx, jobsDir, time.Now().Add(-c.o.ResultTTL))
}

// sweepS3 runs SweepFiles in the background until the connection closes:
// every gateway does (a sweep is a listing and a few deletes; two at
// once do no harm).
func (g *Gateway) sweepS3() {
	c := g.c
	if c.s3 == nil {
		return
	}
	go tick.Every(c.bg, min(c.o.ResultTTL/2, 10*time.Minute), func() {
		ctx, cancel := context.WithTimeout(c.bg, time.Minute)
		defer cancel()
		if n, err := c.SweepFiles(ctx); err != nil {
			c.o.Logger.Warn("sweep expired results in S3", "err", err)
		} else if n > 0 {
			c.o.Logger.Info("swept expired results in S3", "files", n)
		}
	})
}
