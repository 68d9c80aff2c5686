package natstest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// Operator is decentralised (JWT) auth as nsc sets it up: an operator, a
// system account and one account with JetStream, whose users log in with
// a creds file (user JWT + NKey seed).
type Operator struct {
	claims   *jwt.OperatorClaims
	resolver *server.MemAccResolver
	sys      string
	account  nkeys.KeyPair
}

// NewOperator makes the operator and its accounts.
func NewOperator(t testing.TB) *Operator {
	t.Helper()
	okp := must(t, nkeys.CreateOperator)
	opub := pub(t, okp)
	o := &Operator{claims: jwt.NewOperatorClaims(opub), resolver: &server.MemAccResolver{}}
	account := func(name string, js bool) (nkeys.KeyPair, string) {
		kp := must(t, nkeys.CreateAccount)
		ac := jwt.NewAccountClaims(pub(t, kp))
		ac.Name = name
		if js {
			ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
		}
		tok, err := ac.Encode(okp)
		if err != nil {
			t.Fatal(err)
		}
		if err := o.resolver.Store(ac.Subject, tok); err != nil {
			t.Fatal(err)
		}
		return kp, ac.Subject
	}
	_, o.sys = account("SYS", false)
	o.account, _ = account("APP", true)
	o.claims.SystemAccount = o.sys
	if _, err := o.claims.Encode(okp); err != nil { // signs (validates) the claims
		t.Fatal(err)
	}
	return o
}

func (o *Operator) configure(so *server.Options) {
	so.TrustedOperators = []*jwt.OperatorClaims{o.claims}
	so.AccountResolver = o.resolver
	so.SystemAccount = o.sys
}

// Creds writes the creds file of a new user of the JetStream account.
func (o *Operator) Creds(t testing.TB) string {
	t.Helper()
	ukp := must(t, nkeys.CreateUser)
	uc := jwt.NewUserClaims(pub(t, ukp))
	tok, err := uc.Encode(o.account)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := ukp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	b, err := jwt.FormatUserConfig(tok, seed)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "user.creds")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func must(t testing.TB, f func() (nkeys.KeyPair, error)) nkeys.KeyPair {
	t.Helper()
	kp, err := f()
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

func pub(t testing.TB, kp nkeys.KeyPair) string {
	t.Helper()
	p, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
