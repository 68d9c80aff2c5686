// Package s3test runs an S3-compatible server in the test's process
// (gofakes3 with an in-memory backend on an httptest loopback server), in
// front of which every request's AWS Signature V4 is checked — header
// signatures and presigned URLs, expiry included — since gofakes3 itself
// accepts any credentials.
package s3test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/mangabot/mangabot/internal/s3store"
)

// Server is a running fake S3 with one bucket.
type Server struct {
	URL, Bucket, Region, AccessKey, SecretKey string

	backend *s3mem.Backend
	mu      sync.Mutex
	skew    time.Duration // added to the clock that judges expiry
	refused int
}

// Start serves a bucket "mangabot-test" until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{Bucket: "mangabot-test", Region: "us-east-1", AccessKey: "AKIDTEST", SecretKey: "test-secret-key-0123456789", backend: s3mem.New()}
	if err := s.backend.CreateBucket(s.Bucket); err != nil {
		t.Fatal(err)
	}
	fake := gofakes3.New(s.backend).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if why := s.verify(r); why != "" {
			s.mu.Lock()
			s.refused++
			s.mu.Unlock()
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>` + why + `</Message></Error>`))
			return
		}
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Options are the s3store options that reach this server.
func (s *Server) Options(prefix string) s3store.Options {
	return s3store.Options{Endpoint: s.URL, Bucket: s.Bucket, Region: s.Region, AccessKey: s.AccessKey,
		SecretKey: s.SecretKey, Prefix: prefix, PathStyle: true}
}

// Advance moves the clock that judges presigned URLs' expiry.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	s.skew += d
	s.mu.Unlock()
}

// Refused is how many requests failed the signature check.
func (s *Server) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// Keys lists every key in the bucket, read from the backend.
func (s *Server) Keys(t testing.TB) []string {
	t.Helper()
	l, err := s.backend.ListBucket(s.Bucket, &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range l.Contents {
		keys = append(keys, c.Key)
	}
	return keys
}

// verify checks r's SigV4 signature (Authorization header or presigned
// query) with the server's keys; it returns why it fails, or "".
func (s *Server) verify(r *http.Request) string {
	q := r.URL.Query()
	var algo, cred, signed, sig, date, payload string
	presigned := q.Get("X-Amz-Signature") != ""
	if presigned {
		algo, cred, signed, sig, date = q.Get("X-Amz-Algorithm"), q.Get("X-Amz-Credential"), q.Get("X-Amz-SignedHeaders"), q.Get("X-Amz-Signature"), q.Get("X-Amz-Date")
		payload = "UNSIGNED-PAYLOAD"
	} else {
		a := r.Header.Get("Authorization")
		var ok bool
		if algo, a, ok = strings.Cut(a, " "); !ok {
			return "no signature"
		}
		for _, part := range strings.Split(a, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch k {
			case "Credential":
				cred = v
			case "SignedHeaders":
				signed = v
			case "Signature":
				sig = v
			}
		}
		date, payload = r.Header.Get("X-Amz-Date"), r.Header.Get("X-Amz-Content-Sha256")
	}
	if algo != "AWS4-HMAC-SHA256" {
		return "not signature v4"
	}
	scope := strings.Split(cred, "/") // key/date/region/s3/aws4_request
	if len(scope) != 5 || scope[0] != s.AccessKey || scope[4] != "aws4_request" {
		return "unknown access key"
	}
	at, err := time.Parse("20060102T150405Z", date)
	if err != nil {
		return "bad date"
	}
	if presigned {
		secs, err := strconv.Atoi(q.Get("X-Amz-Expires"))
		s.mu.Lock()
		now := time.Now().Add(s.skew)
		s.mu.Unlock()
		if err != nil || secs > int(s3store.MaxPresign/time.Second) || now.After(at.Add(time.Duration(secs)*time.Second)) {
			return "Request has expired"
		}
	}
	// The canonical request (AWS's "Create a canonical request").
	var hdrs strings.Builder
	for _, h := range strings.Split(signed, ";") {
		var v string
		switch h {
		case "host":
			v = r.Host
		case "content-length":
			v = strconv.FormatInt(r.ContentLength, 10)
		default:
			v = strings.Join(r.Header.Values(h), ",")
		}
		hdrs.WriteString(h + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	var keys []string
	for k := range q {
		if !(presigned && k == "X-Amz-Signature") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var query []string
	for _, k := range keys {
		for _, v := range q[k] {
			query = append(query, encode(k)+"="+encode(v))
		}
	}
	canon := strings.Join([]string{r.Method, r.URL.EscapedPath(), strings.Join(query, "&"), hdrs.String(), signed, payload}, "\n")
	sum := sha256.Sum256([]byte(canon))
	toSign := "AWS4-HMAC-SHA256\n" + date + "\n" + strings.Join(scope[1:], "/") + "\n" + hex.EncodeToString(sum[:])
	key := []byte("AWS4" + s.SecretKey)
	for _, p := range scope[1:] {
		key = mac(key, p)
	}
	if !hmac.Equal([]byte(hex.EncodeToString(mac(key, toSign))), []byte(sig)) {
		return "The request signature we calculated does not match the signature you provided"
	}
	return ""
}

func mac(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

// encode is SigV4's URI encoding: everything but A-Z a-z 0-9 - _ . ~.
func encode(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// GetLink fetches a download link, which must be a presigned URL into the
// bucket under prefix+"links/", and returns the response (body closed)
// with its body.
func (s *Server) GetLink(t testing.TB, link, prefix string) (*http.Response, []byte) {
	t.Helper()
	if !strings.HasPrefix(link, s.URL+"/"+s.Bucket+"/"+prefix+"links/") {
		t.Fatalf("link %s is not into the bucket under %slinks/", link, prefix)
	}
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}
