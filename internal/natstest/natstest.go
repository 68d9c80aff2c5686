// Package natstest runs an embedded nats-server with JetStream for tests:
// loopback only, its store in a directory the test owns. Options secure
// it as an operator would: TLS with a CA the test made (tls.go), mutual
// TLS, a user and password, or decentralised JWT auth with a creds file
// (jwt.go).
package natstest

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Options of StartOpts; the zero value is a plain server on any port.
type Options struct {
	Dir  string // JetStream store; t.TempDir() when empty
	Port int    // 0 or -1: any free port
	// User and Password, when set, are required of every client.
	User, Password string
	// TLS, when set, makes the server require TLS with a certificate for
	// 127.0.0.1 issued by this CA; VerifyClients asks clients for a
	// certificate of the same CA too (mutual TLS).
	TLS           *CA
	VerifyClients bool
	// Operator, when set, puts the server in operator mode: clients log in
	// with a creds file of Operator.Creds.
	Operator *Operator
}

// Start runs a server with JetStream storing in dir (t.TempDir() when
// empty) on port (-1: any free one), shut down when the test ends.
func Start(t testing.TB, dir string, port int) *server.Server {
	t.Helper()
	return StartOpts(t, Options{Dir: dir, Port: port})
}

// StartOpts runs a server as o says, shut down when the test ends.
func StartOpts(t testing.TB, o Options) *server.Server {
	t.Helper()
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	if o.Port == 0 {
		o.Port = -1
	}
	so := &server.Options{Host: "127.0.0.1", Port: o.Port, JetStream: true,
		StoreDir: o.Dir, NoLog: true, NoSigs: true, Username: o.User, Password: o.Password}
	if o.TLS != nil {
		cert, err := tls.LoadX509KeyPair(o.TLS.Issue(t, "nats-server", true))
		if err != nil {
			t.Fatal(err)
		}
		so.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if o.VerifyClients {
			so.TLSConfig.ClientCAs = o.TLS.Pool()
			so.TLSConfig.ClientAuth = tls.RequireAndVerifyClientCert
		}
		so.TLS, so.TLSVerify, so.TLSTimeout = true, o.VerifyClients, 5
	}
	if o.Operator != nil {
		o.Operator.configure(so)
	}
	s, err := server.NewServer(so)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(s.Shutdown)
	return s
}
