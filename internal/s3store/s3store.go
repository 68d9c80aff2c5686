// Package s3store keeps files in an S3-compatible bucket (AWS S3, MinIO,
// Cloudflare R2, Ceph, ...) through minio-go: the cluster's finished files
// ([cluster] s3_*) and the download links of a gateway, which may run
// without a public HTTP server of its own.
//
// Every key is the configured prefix plus a relative key, so one bucket
// can serve several bots (and other uses).
package s3store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Options say where the bucket is. Endpoint, Bucket and the keys are
// required (config checks them, New again).
type Options struct {
	Endpoint  string // http(s)://host[:port]; the scheme decides TLS
	Bucket    string
	Region    string // default "us-east-1"
	AccessKey string
	SecretKey string
	Prefix    string // prepended to every key, e.g. "mangabot/"
	PathStyle bool   // bucket in the path (MinIO), not the host name
	// Transport, when set, carries the requests (tests); nil: minio-go's.
	Transport http.RoundTripper
}

// Store is a bucket under a key prefix.
type Store struct {
	c      *minio.Client
	bucket string
	prefix string
}

// New builds the client; it does not connect (Check does).
func New(o Options) (*Store, error) {
	u, err := url.Parse(o.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
		return nil, fmt.Errorf("s3 endpoint %q: want http(s)://host[:port] without a path", o.Endpoint)
	}
	if o.Bucket == "" || o.AccessKey == "" || o.SecretKey == "" {
		return nil, errors.New("s3: bucket, access key and secret key are required")
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	lookup := minio.BucketLookupAuto
	if o.PathStyle {
		lookup = minio.BucketLookupPath
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:  credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""),
		Secure: u.Scheme == "https", Region: o.Region, BucketLookup: lookup,
		Transport: o.Transport,
		// A bounded number of tries: callers have their own retries
		// (a job's redelivery, the next sweep).
		MaxRetries: 3,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 client: %w", err)
	}
	return &Store{c: c, bucket: o.Bucket, prefix: o.Prefix}, nil
}

// Check asks whether the bucket exists and the keys are accepted.
func (s *Store) Check(ctx context.Context) error {
	ok, err := s.c.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("s3 bucket %s: %w", s.bucket, err)
	}
	if !ok {
		return fmt.Errorf("s3 bucket %s: does not exist", s.bucket)
	}
	return nil
}

// Meta are the headers an object is served with.
type Meta struct {
	ContentType        string
	ContentDisposition string
}

// Put uploads the file at path as key (relative to the prefix) and
// returns its size.
func (s *Store) Put(ctx context.Context, key, path string, m Meta) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	ct := m.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	info, err := s.c.PutObject(ctx, s.bucket, s.prefix+key, f, st.Size(),
		minio.PutObjectOptions{ContentType: ct, ContentDisposition: m.ContentDisposition})
	if err != nil {
		return 0, fmt.Errorf("s3 put %s: %w", key, err)
	}
	return info.Size, nil
}

// Get downloads key into path through a temp name renamed when complete,
// so path is whole or absent.
func (s *Store) Get(ctx context.Context, key, path string) error {
	obj, err := s.c.GetObject(ctx, s.bucket, s.prefix+key, minio.GetObjectOptions{})
	if err != nil {
		return fmt.Errorf("s3 get %s: %w", key, err)
	}
	defer obj.Close()
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.part")
	if err != nil {
		return err
	}
	_, err = tmp.ReadFrom(obj)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("s3 get %s: %w", key, err)
	}
	return nil
}

// Delete removes key; a missing key is no error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.c.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("s3 delete %s: %w", key, err)
	}
	return nil
}

// Object is one listed object, its key relative to the prefix.
type Object struct {
	Key      string
	Size     int64
	Modified time.Time
}

// List returns the objects whose keys start with under.
func (s *Store) List(ctx context.Context, under string) ([]Object, error) {
	var out []Object
	for o := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + under, Recursive: true}) {
		if o.Err != nil {
			return out, fmt.Errorf("s3 list %s: %w", under, o.Err)
		}
		out = append(out, Object{Key: strings.TrimPrefix(o.Key, s.prefix), Size: o.Size, Modified: o.LastModified})
	}
	return out, nil
}

// Sweep deletes the objects under `under` last modified before cutoff and
// says how many it deleted.
func (s *Store) Sweep(ctx context.Context, under string, cutoff time.Time) (int, error) {
	list, err := s.List(ctx, under)
	n := 0
	for _, o := range list {
		if !o.Modified.Before(cutoff) {
			continue
		}
		if derr := s.Delete(ctx, o.Key); derr != nil {
			return n, derr
		}
		n++
	}
	return n, err
}

// MaxPresign is the longest a SigV4 presigned URL can be valid.
const MaxPresign = 7 * 24 * time.Hour

// Presign returns a URL that GETs key without credentials until ttl
// (at most MaxPresign) has passed.
func (s *Store) Presign(ctx context.Context, key string, ttl time.Duration) (string, error) {
	u, err := s.c.PresignedGetObject(ctx, s.bucket, s.prefix+key, min(ttl, MaxPresign), nil)
	if err != nil {
		return "", fmt.Errorf("s3 presign %s: %w", key, err)
	}
	return u.String(), nil
}
