package cluster_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mangabot/mangabot/cluster"
	"github.com/mangabot/mangabot/internal/natstest"
	"github.com/mangabot/mangabot/internal/testtool"
)

// dial connects with o (URL, timings and a logger into log filled in)
// and closes the connection when the test ends.
func dial(t *testing.T, url string, o cluster.Options, log *testtool.LogBuffer) (*cluster.Conn, error) {
	t.Helper()
	o.URL, o.AckWait, o.Logger = url, 1500*time.Millisecond, slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := cluster.Connect(ctx, o)
	if err == nil {
		t.Cleanup(c.Close)
	}
	return c, err
}

// connectCase is one way of connecting: it connects (and so sets up the
// stream, consumers and buckets through JetStream) when want is empty,
// else fails with one line that starts "connect to nats: " and holds
// want.
type connectCase struct {
	name string
	o    cluster.Options
	want string
}

func checkConnect(t *testing.T, url string, cases []connectCase, secret string) {
	t.Helper()
	for _, c := range cases {
		var log testtool.LogBuffer
		conn, err := dial(t, url, c.o, &log)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want == "" && !conn.Healthy():
			t.Errorf("%s: connected but not healthy", c.name)
		case c.want != "" && (err == nil || !strings.HasPrefix(err.Error(), "connect to nats: ") || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: more than one line: %q", c.name, err)
		}
		if secret != "" && (strings.Contains(log.String(), secret) || err != nil && strings.Contains(err.Error(), secret)) {
			t.Errorf("%s: the secret reached the log or the error", c.name)
		}
	}
}

// A server whose certificate a CA of its own signed: reached with
// tls_ca, refused (one line) with the system roots or another CA.
func TestConnectTLS(t *testing.T) {
	ca := natstest.NewCA(t)
	url := natstest.StartOpts(t, natstest.Options{TLS: ca}).ClientURL()
	checkConnect(t, url, []connectCase{
		{"tls_ca", cluster.Options{TLSCA: ca.CertFile}, ""},
		{"system roots", cluster.Options{}, "x509: certificate signed by unknown authority (set [cluster] tls_ca to the CA that signed the server's certificate)"},
		{"other CA", cluster.Options{TLSCA: natstest.NewCA(t).CertFile}, "x509: certificate signed by unknown authority"},
		{"missing CA file", cluster.Options{TLSCA: "/nonexistent/ca.pem"}, "nats: error loading or parsing rootCA file: open /nonexistent/ca.pem: no such file or directory"},
	}, "")
}

// Mutual TLS: only a client certificate of the server's CA gets in.
func TestConnectMutualTLS(t *testing.T) {
	ca := natstest.NewCA(t)
	url := natstest.StartOpts(t, natstest.Options{TLS: ca, VerifyClients: true}).ClientURL()
	cert, key := ca.Issue(t, "worker", false)
	otherCert, otherKey := natstest.NewCA(t).Issue(t, "stranger", false)
	var log testtool.LogBuffer
	if _, err := dial(t, url, cluster.Options{TLSCA: ca.CertFile}, &log); err == nil || !strings.HasPrefix(err.Error(), "connect to nats: ") || strings.Contains(err.Error(), "\n") {
		t.Errorf("no client certificate: %v, want one line refusing", err)
	}
	if _, err := dial(t, url, cluster.Options{TLSCA: ca.CertFile, TLSCert: otherCert, TLSKey: otherKey}, &log); err == nil || !strings.HasPrefix(err.Error(), "connect to nats: ") {
		t.Errorf("a certificate of another CA: %v, want refused", err)
	}
	checkConnect(t, url, []connectCase{
		{"client certificate", cluster.Options{TLSCA: ca.CertFile, TLSCert: cert, TLSKey: key}, ""},
	}, "")
}

// User and password: the right ones get in, a wrong password is refused
// with one line, and the password shows in no error and no log line,
// over a server restart too (disconnect and reconnect are logged).
func TestConnectUserPassword(t *testing.T) {
	const secret = "s3cret-Pa55word"
	dir := t.TempDir()
	ns := natstest.StartOpts(t, natstest.Options{Dir: dir, User: "bot", Password: secret})
	url := ns.ClientURL()
	checkConnect(t, url, []connectCase{
		{"wrong password", cluster.Options{User: "bot", Password: "not-" + secret}, "nats: Authorization Violation (check [cluster] user and password, or creds_file)"},
		{"no user", cluster.Options{}, "nats: Authorization Violation (check [cluster] user and password, or creds_file)"},
	}, secret)
	var log testtool.LogBuffer
	c, err := dial(t, url, cluster.Options{User: "bot", Password: secret, ReconnectWait: 50 * time.Millisecond}, &log)
	if err != nil {
		t.Fatal(err)
	}
	port := ns.Addr().(*net.TCPAddr).Port
	ns.Shutdown()
	eventually(t, "the loss to show", func() bool { return !c.Healthy() })
	natstest.StartOpts(t, natstest.Options{Dir: dir, Port: port, User: "bot", Password: secret})
	eventually(t, "the reconnect", func() bool { return c.Healthy() && strings.Contains(log.String(), "nats reconnected") })
	if l := log.String(); strings.Contains(l, secret) {
		t.Errorf("the password reached the log:\n%s", l)
	}
}

// Decentralised auth: a creds file of the operator's account gets in
// (JetStream included); one of another operator does not.
func TestConnectCreds(t *testing.T) {
	op := natstest.NewOperator(t)
	url := natstest.StartOpts(t, natstest.Options{Operator: op}).ClientURL()
	checkConnect(t, url, []connectCase{
		{"creds", cluster.Options{CredsFile: op.Creds(t)}, ""},
		{"creds of another operator", cluster.Options{CredsFile: natstest.NewOperator(t).Creds(t)}, "nats: Authorization Violation (check [cluster] user and password, or creds_file)"},
		{"no creds", cluster.Options{}, "nats: Authorization Violation (check [cluster] user and password, or creds_file)"},
	}, "")
}
