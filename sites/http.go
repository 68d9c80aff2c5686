package sites

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/PuerkitoBio/goquery"
)

// DefaultMaxBody bounds an answer a handler reads when Req.MaxBytes is 0:
// reader pages and API answers are far smaller; a larger body is not one.
const DefaultMaxBody = 16 << 20

// Req is one request a handler makes through Do, DoJSON or DoHTML.
type Req struct {
	Method   string      // "": GET, or POST when Form or JSON is set
	URL      *url.URL    // absolute http(s) URL
	Query    url.Values  // added to URL's query
	Form     url.Values  // POST body, application/x-www-form-urlencoded
	JSON     any         // POST body, application/json
	Referer  string      // "": none
	Header   http.Header // extra headers (Accept, Cookie, X-Requested-With, ...)
	MaxBytes int64       // body cap; 0: DefaultMaxBody
}

// Resp is a complete 2xx answer.
type Resp struct {
	URL    *url.URL // final URL, after redirects
	Status int
	Header http.Header
	Body   []byte
}

// StatusError is a non-2xx answer. errors.Is matches ErrNotFound for 404
// and 410 and ErrRateLimited for 429 (after the fetcher's own retries).
type StatusError struct {
	Status int
	Body   []byte // the start of the answer, for handlers that read error documents
}

func (e *StatusError) Error() string {
	switch {
	case e.Status == http.StatusNotFound || e.Status == http.StatusGone:
		return fmt.Sprintf("not found (HTTP %d)", e.Status)
	case e.Status == http.StatusTooManyRequests:
		return "rate limited (HTTP 429)"
	}
	return strings.TrimSpace(fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status)))
}

// Is makes errors.Is(err, ErrNotFound) and errors.Is(err, ErrRateLimited)
// work on status errors.
func (e *StatusError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound || e.Status == http.StatusGone
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	}
	return false
}

// errNoClient: a handler never falls back to http.DefaultClient, which has
// no address guard and no rate limits and honours HTTP_PROXY.
var errNoClient = errors.New("no HTTP client in Env")

// maxErrorBody is how much of a non-2xx answer StatusError keeps.
const maxErrorBody = 64 << 10

// Do sends r with env's client and User-Agent and reads the whole answer
// (at most MaxBytes). A non-2xx status is a *StatusError. Errors do not
// name the site or the URL: the handler wraps them once with the
// operation ("chapter 123: not found (HTTP 404)") and the pipeline adds
// the site name.
func Do(ctx context.Context, env Env, r Req) (*Resp, error) {
	if env.Client == nil {
		return nil, errNoClient
	}
	if r.URL == nil {
		return nil, errors.New("request without a URL")
	}
	u := *r.URL
	if len(r.Query) > 0 {
		q := u.Query()
		for k, vs := range r.Query {
			q[k] = append(q[k], vs...)
		}
		u.RawQuery = q.Encode()
	}
	method := r.Method
	var body io.Reader
	var ctype string
	switch {
	case r.Form != nil:
		body, ctype = strings.NewReader(r.Form.Encode()), "application/x-www-form-urlencoded"
	case r.JSON != nil:
		b, err := json.Marshal(r.JSON)
		if err != nil {
			return nil, err
		}
		body, ctype = bytes.NewReader(b), "application/json"
	}
	if method == "" {
		method = http.MethodGet
		if body != nil {
			method = http.MethodPost
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	for k, vs := range r.Header {
		req.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if r.Referer != "" {
		req.Header.Set("Referer", r.Referer)
	}
	if env.UserAgent != "" {
		req.Header.Set("User-Agent", env.UserAgent)
	}
	resp, err := env.Client.Do(req)
	if err != nil {
		return nil, err // *url.Error: names the method and URL
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return nil, &StatusError{Status: resp.StatusCode, Body: b}
	}
	limit := r.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: answer larger than %d MiB", ErrLayout, limit>>20)
	}
	final := r.URL
	if resp.Request != nil && resp.Request.URL != nil {
		final = resp.Request.URL
	}
	return &Resp{URL: final, Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// DoJSON is Do with Accept: application/json that decodes the answer into
// v. An answer that is not JSON of v's shape wraps ErrLayout.
func DoJSON(ctx context.Context, env Env, r Req, v any) error {
	r.Header = withDefault(r.Header, "Accept", "application/json")
	resp, err := Do(ctx, env, r)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(resp.Body, v); err != nil {
		return fmt.Errorf("%w: %v", ErrLayout, err)
	}
	return nil
}

// DoHTML is Do for a web page, parsed; doc.Url is the final URL (after
// redirects). An answer that is not HTML wraps ErrLayout.
func DoHTML(ctx context.Context, env Env, r Req) (*goquery.Document, error) {
	r.Header = withDefault(r.Header, "Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5")
	resp, err := Do(ctx, env, r)
	if err != nil {
		return nil, err
	}
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		ct = http.DetectContentType(resp.Body)
	}
	if mt, _, _ := mime.ParseMediaType(ct); mt != "text/html" && mt != "application/xhtml+xml" {
		return nil, fmt.Errorf("%w: not a web page (%s)", ErrLayout, ct)
	}
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(resp.Body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLayout, err)
	}
	doc.Url = resp.URL
	return doc, nil
}

// withDefault returns h (copied) with key set to v unless h sets it.
func withDefault(h http.Header, key, v string) http.Header {
	out := h.Clone()
	if out == nil {
		out = http.Header{}
	}
	if out.Get(key) == "" {
		out.Set(key, v)
	}
	return out
}
