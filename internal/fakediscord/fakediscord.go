package fakediscord

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// File is an uploaded attachment.
type File struct {
	Field, Name string
	Data        []byte
}

// Request is one recorded REST request.
type Request struct {
	Seq    int
	Method string
	Path   string // without the /api/v9 prefix, e.g. "/interactions/1/tok/callback"
	Auth   string // Authorization header
	Body   []byte // JSON body, or payload_json of a multipart body
	Files  []File
	Status int // status the fake answered with
}

// JSON decodes the request's JSON payload into v.
func (r Request) JSON(v any) error { return json.Unmarshal(r.Body, v) }

// Message is the fake's view of a Discord message (the fields tests need).
type Message struct {
	ID          string            `json:"id"`
	ChannelID   string            `json:"channel_id"`
	Content     string            `json:"content"`
	Flags       int               `json:"flags,omitempty"`
	Embeds      []json.RawMessage `json:"embeds"`
	Components  []json.RawMessage `json:"components"`
	Attachments []Attachment      `json:"attachments"`
	Author      map[string]any    `json:"author"`
	Timestamp   string            `json:"timestamp"`
	nonce       string            // kept for enforce_nonce, not shown by GET (as on Discord)
}

// Attachment is an uploaded file as stored on a message.
type Attachment struct {
	ID       string `json:"id"`
	Filename string `json:"filename"`
	Size     int    `json:"size"`
	URL      string `json:"url"`
	data     []byte
}

// Data returns the attachment's bytes.
func (a Attachment) Data() []byte { return a.data }

// Fault is an injected failure: the next Count requests whose method equals
// Method (empty: any) and whose path contains PathContains get Status with
// Body (and Header).
type Fault struct {
	Method       string
	PathContains string
	Count        int
	Status       int
	Body         string
	Header       http.Header
	// WithFiles / WithoutFiles restrict the fault to requests that do (or
	// do not) upload files.
	WithFiles, WithoutFiles bool
	// Drop closes the connection without an answer (the client sees a
	// transport error, which names the request URL); Status is ignored.
	Drop bool
}

// Identify is a recorded gateway IDENTIFY.
type Identify struct {
	Token   string
	Intents int64
	Shard   []int // [shard_id, num_shards]; nil when the client sent none
}

// Server is a fake Discord. Create it with New; Close it when done.
type Server struct {
	URL       string // http://127.0.0.1:port
	AppID     string
	BotUserID string

	srv      *httptest.Server
	upgrader websocket.Upgrader

	mu             sync.Mutex
	changed        chan struct{} // closed and replaced on every state change
	requests       []Request
	faults         []*Fault
	expired        map[string]bool
	attachLimit    int64
	nextID         int64
	originals      map[string]*Message // by interaction token
	messages       map[string]*Message // by message id
	channelMsgs    []*Message          // bot-token posts, in order
	followups      map[string][]*Message
	commands       map[string]json.RawMessage // scope ("global" or guild id) -> last overwrite body
	conns          []*gwConn
	seq            int64
	identified     int
	identifies     []Identify
	refuseGateway  bool
	heartbeatMilli int
	shards         int // recommended by GET /gateway/bot
	closed         bool
	hook           func(Request)
}

type gwConn struct {
	mu sync.Mutex
	ws *websocket.Conn
}

func (c *gwConn) send(v any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ws.WriteJSON(v)
}

// New starts a fake Discord on 127.0.0.1.
func New() *Server {
	s := &Server{
		AppID:          "100000000000000001",
		BotUserID:      "100000000000000002",
		changed:        make(chan struct{}),
		expired:        map[string]bool{},
		originals:      map[string]*Message{},
		messages:       map[string]*Message{},
		followups:      map[string][]*Message{},
		commands:       map[string]json.RawMessage{},
		nextID:         200000000000000000,
		heartbeatMilli: 41250,
		shards:         1,
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server and closes gateway connections.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for _, c := range conns {
		c.ws.Close()
	}
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// SetAttachmentLimit makes uploads of a file larger than n bytes fail with
// 413 (code 40005). 0 means no limit.
func (s *Server) SetAttachmentLimit(n int64) {
	s.mu.Lock()
	s.attachLimit = n
	s.mu.Unlock()
}

// SetRecommendedShards sets the shard count GET /gateway/bot recommends
// (1 by default).
func (s *Server) SetRecommendedShards(n int) {
	s.mu.Lock()
	s.shards = n
	s.mu.Unlock()
}

// Inject adds a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	s.faults = append(s.faults, &f)
	s.mu.Unlock()
}

// RateLimit makes the next count requests matching method and path answer
// 429 with retry_after (seconds) in the JSON body and X-RateLimit headers.
func (s *Server) RateLimit(method, pathContains string, count int, retryAfter float64) {
	ra := strconv.FormatFloat(retryAfter, 'f', 3, 64)
	s.Inject(Fault{
		Method: method, PathContains: pathContains, Count: count, Status: 429,
		Body: fmt.Sprintf(`{"message":"You are being rate limited.","retry_after":%s,"global":false}`, ra),
		Header: http.Header{
			"X-Ratelimit-Remaining":   {"0"},
			"X-Ratelimit-Reset-After": {ra},
			"X-Ratelimit-Bucket":      {"fake"},
			"Retry-After":             {ra},
		},
	})
}

// ExpireToken makes every webhook route of the interaction token answer
// 401 {"code":50027,"message":"Invalid Webhook Token"} from now on.
func (s *Server) ExpireToken(token string) {
	s.mu.Lock()
	s.expired[token] = true
	s.mu.Unlock()
}

// Requests returns a copy of the recorded requests.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Original returns the current state of an interaction's original response
// message (nil if none yet).
func (s *Server) Original(token string) *Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.originals[token]; m != nil {
		c := *m
		return &c
	}
	return nil
}

// Followups returns the followup messages sent with an interaction token.
func (s *Server) Followups(token string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.followups[token] {
		out = append(out, *m)
	}
	return out
}

// ChannelMessages returns messages posted with the bot token, in order.
func (s *Server) ChannelMessages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.channelMsgs {
		out = append(out, *m)
	}
	return out
}

// Commands returns the last bulk-overwrite body for a scope: a guild id, or
// "global".
func (s *Server) Commands(scope string) json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commands[scope]
}

// Wait blocks until cond (called under no lock, repeatedly, after every
// state change) returns true, or ctx ends.
func (s *Server) Wait(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitRequest waits for a recorded request (from index from on) matching f
// and returns it with its index.
func (s *Server) WaitRequest(ctx context.Context, from int, f func(Request) bool) (Request, int, error) {
	var got Request
	idx := -1
	err := s.Wait(ctx, func() bool {
		reqs := s.Requests()
		for i := from; i < len(reqs); i++ {
			if f(reqs[i]) {
				got, idx = reqs[i], i
				return true
			}
		}
		return false
	})
	return got, idx, err
}

// Identifies returns the recorded IDENTIFY payloads (token, intents).
func (s *Server) Identifies() []Identify {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Identify(nil), s.identifies...)
}

// DropGateway closes every gateway connection; with refuse, new ones are
// refused (503 on the upgrade) until AllowGateway.
func (s *Server) DropGateway(refuse bool) {
	s.mu.Lock()
	s.refuseGateway = refuse
	conns := append([]*gwConn(nil), s.conns...)
	s.mu.Unlock()
	for _, c := range conns {
		c.ws.Close()
	}
}

// AllowGateway accepts gateway connections again after DropGateway.
func (s *Server) AllowGateway() {
	s.mu.Lock()
	s.refuseGateway = false
	s.mu.Unlock()
}

// Identified reports how many gateway connections completed IDENTIFY.
func (s *Server) Identified() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.identified
}

// notify wakes Wait callers; s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) newIDLocked() string {
	s.nextID++
	return strconv.FormatInt(s.nextID, 10)
}

// ---- gateway ----

// Interaction describes an INTERACTION_CREATE to dispatch.
type Interaction struct {
	Type        int    // 2 command, 3 component, 4 autocomplete
	GuildID     string // empty: DM (user instead of member)
	ChannelID   string
	UserID      string
	Permissions int64 // member.permissions
	// AttachmentSizeLimit goes into attachment_size_limit; 0 leaves it out.
	AttachmentSizeLimit int64
	// Data is the interaction's data object (command name/options, or
	// custom_id/component_type).
	Data map[string]any
	// MessageID, for components: the message the button was on.
	MessageID string
}

// Dispatch sends an INTERACTION_CREATE to every identified gateway
// connection and returns the interaction's id and token.
func (s *Server) Dispatch(in Interaction) (id, token string, err error) {
	s.mu.Lock()
	id = s.newIDLocked()
	token = "itok-" + id
	s.mu.Unlock()
	d := map[string]any{
		"id": id, "application_id": s.AppID, "type": in.Type, "token": token,
		"version": 1, "channel_id": in.ChannelID, "data": in.Data, "locale": "en-US",
	}
	user := map[string]any{"id": in.UserID, "username": "user" + in.UserID, "discriminator": "0"}
	if in.GuildID != "" {
		d["guild_id"] = in.GuildID
		d["member"] = map[string]any{"user": user, "permissions": strconv.FormatInt(in.Permissions, 10), "roles": []string{}}
	} else {
		d["user"] = user
	}
	if in.AttachmentSizeLimit > 0 {
		d["attachment_size_limit"] = in.AttachmentSizeLimit
	}
	if in.MessageID != "" {
		d["message"] = map[string]any{"id": in.MessageID, "channel_id": in.ChannelID, "content": ""}
	}
	return id, token, s.DispatchEvent("INTERACTION_CREATE", d)
}

// DispatchEvent sends a dispatch (op 0) with the next sequence number.
func (s *Server) DispatchEvent(t string, d any) error {
	s.mu.Lock()
	conns := append([]*gwConn(nil), s.conns...)
	s.seq++
	seq := s.seq
	s.mu.Unlock()
	if len(conns) == 0 {
		return fmt.Errorf("fakediscord: no gateway connection")
	}
	var first error
	for _, c := range conns {
		if err := c.send(map[string]any{"op": 0, "s": seq, "t": t, "d": d}); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (s *Server) gateway(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	refuse := s.refuseGateway
	s.mu.Unlock()
	if refuse {
		http.Error(w, "gateway unavailable", http.StatusServiceUnavailable)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &gwConn{ws: ws}
	defer ws.Close()
	s.mu.Lock()
	hb := s.heartbeatMilli
	s.mu.Unlock()
	if c.send(map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": hb}}) != nil {
		return
	}
	var ident struct {
		Op int `json:"op"`
		D  struct {
			Token   string `json:"token"`
			Intents int64  `json:"intents"`
			Shard   []int  `json:"shard"`
		} `json:"d"`
	}
	if err := ws.ReadJSON(&ident); err != nil || ident.Op != 2 {
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.seq++
	seq := s.seq
	s.identified++
	s.identifies = append(s.identifies, Identify{Token: ident.D.Token, Intents: ident.D.Intents, Shard: ident.D.Shard})
	s.conns = append(s.conns, c)
	s.notifyLocked()
	s.mu.Unlock()
	defer s.dropConn(c)
	ready := map[string]any{
		"v": 9, "session_id": "fake-session", "resume_gateway_url": "ws://" + r.Host + "/gateway",
		"user":        map[string]any{"id": s.BotUserID, "username": "mangabot", "discriminator": "0", "bot": true},
		"application": map[string]any{"id": s.AppID, "flags": 0},
		"guilds":      []any{},
	}
	if c.send(map[string]any{"op": 0, "s": seq, "t": "READY", "d": ready}) != nil {
		return
	}
	for {
		var m struct {
			Op int `json:"op"`
		}
		if err := ws.ReadJSON(&m); err != nil {
			return
		}
		if m.Op == 1 {
			if c.send(map[string]any{"op": 11}) != nil {
				return
			}
		}
	}
}

func (s *Server) dropConn(c *gwConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.conns {
		if x == c {
			s.conns = append(s.conns[:i], s.conns[i+1:]...)
			break
		}
	}
	s.notifyLocked()
}

// ---- REST ----

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{"code": code, "message": msg})
}

// parseBody reads a JSON or multipart body into payload and files.
func parseBody(r *http.Request) ([]byte, []File, error) {
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		b, err := io.ReadAll(r.Body)
		return b, nil, err
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	var payload []byte
	var files []File
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return nil, nil, err
		}
		if p.FormName() == "payload_json" {
			payload = data
		} else {
			files = append(files, File{Field: p.FormName(), Name: p.FileName(), Data: data})
		}
	}
	return payload, files, nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/gateway" || strings.HasPrefix(r.URL.Path, "/gateway/") {
		s.gateway(w, r)
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/api/v9")
	if !ok {
		http.NotFound(w, r)
		return
	}
	body, files, err := parseBody(r)
	if err != nil {
		apiError(w, 400, 50109, "bad body")
		return
	}
	rec := Request{Method: r.Method, Path: path, Auth: r.Header.Get("Authorization"), Body: body, Files: files}
	s.mu.Lock()
	hook := s.hook
	s.mu.Unlock()
	if hook != nil {
		hook(rec)
	}
	status := s.route(w, r, rec)
	s.mu.Lock()
	rec.Seq = len(s.requests)
	rec.Status = status
	s.requests = append(s.requests, rec)
	s.notifyLocked()
	s.mu.Unlock()
}

// route answers one request and returns the status it sent.
func (s *Server) route(w http.ResponseWriter, r *http.Request, rec Request) int {
	seg := strings.Split(strings.Trim(rec.Path, "/"), "/")
	// Injected faults first.
	s.mu.Lock()
	for i, f := range s.faults {
		if (f.Method == "" || f.Method == r.Method) && strings.Contains(rec.Path, f.PathContains) &&
			(!f.WithFiles || len(rec.Files) > 0) && (!f.WithoutFiles || len(rec.Files) == 0) {
			f.Count--
			if f.Count <= 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			s.mu.Unlock()
			if f.Drop {
				if hj, ok := w.(http.Hijacker); ok {
					if c, _, err := hj.Hijack(); err == nil {
						c.Close()
					}
				}
				return 0
			}
			for k, v := range f.Header {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(f.Status)
			io.WriteString(w, f.Body)
			return f.Status
		}
	}
	// Expired interaction tokens.
	if (seg[0] == "webhooks" && len(seg) >= 3 && s.expired[seg[2]]) ||
		(seg[0] == "interactions" && len(seg) >= 3 && s.expired[seg[2]]) {
		s.mu.Unlock()
		apiError(w, 401, 50027, "Invalid Webhook Token")
		return 401
	}
	// Attachment size limit.
	if s.attachLimit > 0 {
		for _, f := range rec.Files {
			if int64(len(f.Data)) > s.attachLimit {
				s.mu.Unlock()
				apiError(w, 413, 40005, "Request entity too large")
				return 413
			}
		}
	}
	s.mu.Unlock()

	switch {
	case r.Method == "GET" && rec.Path == "/gateway", r.Method == "GET" && rec.Path == "/gateway/bot":
		host := strings.TrimPrefix(s.URL, "http://")
		s.mu.Lock()
		shards := s.shards
		s.mu.Unlock()
		writeJSON(w, 200, map[string]any{"url": "ws://" + host + "/gateway", "shards": shards,
			"session_start_limit": map[string]any{"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}})
		return 200
	case r.Method == "GET" && rec.Path == "/users/@me":
		writeJSON(w, 200, map[string]any{"id": s.BotUserID, "username": "mangabot", "bot": true})
		return 200
	case r.Method == "GET" && rec.Path == "/oauth2/applications/@me":
		writeJSON(w, 200, map[string]any{"id": s.AppID, "name": "mangabot"})
		return 200
	case r.Method == "PUT" && len(seg) == 3 && seg[0] == "applications" && seg[2] == "commands":
		return s.overwrite(w, "global", rec.Body)
	case r.Method == "PUT" && len(seg) == 5 && seg[0] == "applications" && seg[2] == "guilds" && seg[4] == "commands":
		return s.overwrite(w, seg[3], rec.Body)
	case r.Method == "POST" && len(seg) == 4 && seg[0] == "interactions" && seg[3] == "callback":
		return s.callback(w, seg[2], rec)
	case len(seg) == 5 && seg[0] == "webhooks" && seg[3] == "messages":
		return s.webhookMessage(w, r.Method, seg[2], seg[4], rec)
	case r.Method == "POST" && len(seg) == 3 && seg[0] == "webhooks":
		return s.followup(w, seg[2], rec)
	case len(seg) == 3 && seg[0] == "channels" && seg[2] == "messages" && r.Method == "POST":
		return s.channelPost(w, seg[1], rec)
	case len(seg) == 3 && seg[0] == "channels" && seg[2] == "messages" && r.Method == "GET":
		return s.channelHistory(w, seg[1], r)
	case len(seg) == 4 && seg[0] == "channels" && seg[2] == "messages" && r.Method == "PATCH":
		return s.channelEdit(w, seg[1], seg[3], rec)
	}
	apiError(w, 404, 0, "404: Not Found")
	return 404
}

func (s *Server) overwrite(w http.ResponseWriter, scope string, body []byte) int {
	var cmds []map[string]any
	if err := json.Unmarshal(body, &cmds); err != nil {
		apiError(w, 400, 50035, "Invalid Form Body")
		return 400
	}
	s.mu.Lock()
	s.commands[scope] = append(json.RawMessage(nil), body...)
	for _, c := range cmds {
		c["id"] = s.newIDLocked()
		c["application_id"] = s.AppID
		if scope != "global" {
			c["guild_id"] = scope
		}
		c["version"] = "1"
	}
	s.mu.Unlock()
	writeJSON(w, 200, cmds)
	return 200
}

// msgData is the subset of message create/edit payloads the fake applies.
type msgData struct {
	Content     *string            `json:"content"`
	Flags       *int               `json:"flags"`
	Embeds      *[]json.RawMessage `json:"embeds"`
	Components  *[]json.RawMessage `json:"components"`
	Attachments *[]json.RawMessage `json:"attachments"`
}

// applyLocked applies a payload and uploaded files to m.
func (s *Server) applyLocked(m *Message, d msgData, files []File) {
	if d.Content != nil {
		m.Content = *d.Content
	}
	if d.Flags != nil {
		m.Flags = *d.Flags
	}
	if d.Embeds != nil {
		m.Embeds = *d.Embeds
	}
	if d.Components != nil {
		m.Components = *d.Components
	}
	if d.Attachments != nil && len(*d.Attachments) == 0 {
		m.Attachments = nil
	}
	for _, f := range files {
		id := s.newIDLocked()
		m.Attachments = append(m.Attachments, Attachment{ID: id, Filename: f.Name, Size: len(f.Data),
			URL: s.URL + "/attachments/" + id + "/" + f.Name, data: f.Data})
	}
}

func (s *Server) newMessageLocked(channel string) *Message {
	m := &Message{ID: s.newIDLocked(), ChannelID: channel, Timestamp: time.Now().UTC().Format(time.RFC3339),
		Author: map[string]any{"id": s.BotUserID, "username": "mangabot", "bot": true}}
	s.messages[m.ID] = m
	return m
}

func (s *Server) callback(w http.ResponseWriter, token string, rec Request) int {
	var cb struct {
		Type int     `json:"type"`
		Data msgData `json:"data"`
	}
	if err := json.Unmarshal(rec.Body, &cb); err != nil {
		apiError(w, 400, 50035, "Invalid Form Body")
		return 400
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch cb.Type {
	case 4, 5: // channel message / deferred: creates @original
		if s.originals[token] != nil {
			apiError(w, 400, 40060, "Interaction has already been acknowledged.")
			return 400
		}
		m := s.newMessageLocked("")
		s.applyLocked(m, cb.Data, rec.Files)
		s.originals[token] = m
	case 7: // update the message the component is on: tracked as @original
		if m := s.originals[token]; m != nil {
			s.applyLocked(m, cb.Data, rec.Files)
		}
	}
	w.WriteHeader(204)
	return 204
}

func (s *Server) webhookMessage(w http.ResponseWriter, method, token, msgID string, rec Request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var m *Message
	if msgID == "@original" {
		m = s.originals[token]
	} else {
		for _, f := range s.followups[token] {
			if f.ID == msgID {
				m = f
			}
		}
	}
	if m == nil {
		apiError(w, 404, 10008, "Unknown Message")
		return 404
	}
	switch method {
	case "GET":
	case "PATCH":
		var d msgData
		if len(rec.Body) > 0 {
			if err := json.Unmarshal(rec.Body, &d); err != nil {
				apiError(w, 400, 50035, "Invalid Form Body")
				return 400
			}
		}
		s.applyLocked(m, d, rec.Files)
	case "DELETE":
		delete(s.originals, token)
		w.WriteHeader(204)
		return 204
	default:
		apiError(w, 405, 0, "405: Method Not Allowed")
		return 405
	}
	writeJSON(w, 200, m)
	return 200
}

func (s *Server) followup(w http.ResponseWriter, token string, rec Request) int {
	var d msgData
	if err := json.Unmarshal(rec.Body, &d); err != nil {
		apiError(w, 400, 50035, "Invalid Form Body")
		return 400
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.newMessageLocked("")
	s.applyLocked(m, d, rec.Files)
	s.followups[token] = append(s.followups[token], m)
	writeJSON(w, 200, m)
	return 200
}

func (s *Server) channelPost(w http.ResponseWriter, channel string, rec Request) int {
	if !strings.HasPrefix(rec.Auth, "Bot ") {
		apiError(w, 401, 0, "401: Unauthorized")
		return 401
	}
	var d msgData
	if err := json.Unmarshal(rec.Body, &d); err != nil {
		apiError(w, 400, 50035, "Invalid Form Body")
		return 400
	}
	var n struct {
		Nonce        string `json:"nonce"`
		EnforceNonce bool   `json:"enforce_nonce"`
	}
	json.Unmarshal(rec.Body, &n)
	s.mu.Lock()
	defer s.mu.Unlock()
	if n.EnforceNonce && n.Nonce != "" {
		// Discord returns the message already made with this nonce.
		for _, m := range s.channelMsgs {
			if m.ChannelID == channel && m.nonce == n.Nonce {
				writeJSON(w, 200, m)
				return 200
			}
		}
	}
	m := s.newMessageLocked(channel)
	m.nonce = n.Nonce
	s.applyLocked(m, d, rec.Files)
	s.channelMsgs = append(s.channelMsgs, m)
	writeJSON(w, 200, m)
	return 200
}

func (s *Server) channelEdit(w http.ResponseWriter, channel, id string, rec Request) int {
	if !strings.HasPrefix(rec.Auth, "Bot ") {
		apiError(w, 401, 0, "401: Unauthorized")
		return 401
	}
	var d msgData
	if err := json.Unmarshal(rec.Body, &d); err != nil {
		apiError(w, 400, 50035, "Invalid Form Body")
		return 400
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.messages[id]
	if m == nil {
		apiError(w, 404, 10008, "Unknown Message")
		return 404
	}
	if m.ChannelID == "" {
		m.ChannelID = channel
	}
	s.applyLocked(m, d, rec.Files)
	writeJSON(w, 200, m)
	return 200
}

// OnRequest sets f to be called with every REST request before it is
// answered (Seq and Status unset), while the client waits: a test can look
// at the bot's state at that moment. nil removes it.
func (s *Server) OnRequest(f func(Request)) {
	s.mu.Lock()
	s.hook = f
	s.mu.Unlock()
}

// Message returns a message by id (originals, followups and channel posts).
func (s *Server) Message(id string) *Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.messages[id]; m != nil {
		c := *m
		return &c
	}
	return nil
}

// Addr returns the listener address (host:port).
func (s *Server) Addr() net.Addr { return s.srv.Listener.Addr() }

// channelHistory answers GET /channels/{id}/messages: the channel's bot
// posts, newest first, at most limit (default 50).
func (s *Server) channelHistory(w http.ResponseWriter, channel string, r *http.Request) int {
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit <= 0 || limit > 100 {
		limit = 50
	}
	s.mu.Lock()
	out := []Message{}
	for i := len(s.channelMsgs) - 1; i >= 0 && len(out) < limit; i-- {
		if m := s.channelMsgs[i]; m.ChannelID == channel {
			out = append(out, *m)
		}
	}
	s.mu.Unlock()
	writeJSON(w, 200, out)
	return 200
}
