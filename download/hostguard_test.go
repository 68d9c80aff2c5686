package download

import (
	"errors"
	"net"
	"net/netip"
	"testing"
)

func TestGuardCheckHost(t *testing.T) {
	ctx := t.Context()
	strict := NewGuard(nil)
	var be *BlockedError
	if err := strict.CheckHost(ctx, "localhost"); !errors.As(err, &be) || be.Class != "loopback" {
		t.Fatalf("localhost: %v", err)
	}
	if err := strict.CheckHost(ctx, "169.254.169.254"); !errors.As(err, &be) || be.Class != "link-local" {
		t.Fatalf("metadata address: %v", err)
	}
	if err := strict.CheckHost(ctx, "8.8.8.8"); err != nil {
		t.Fatalf("public address: %v", err)
	}
	one := NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})
	if err := one.CheckHost(ctx, "127.0.0.1"); err != nil {
		t.Fatalf("allowed address: %v", err)
	}
	if err := one.CheckHost(ctx, "127.0.0.2"); !errors.As(err, &be) {
		t.Fatalf("127.0.0.2 outside the /32: %v", err)
	}
}

// DialContext refuses at connect time, and connects when allowed.
func TestGuardDial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var be *BlockedError
	if _, err := NewGuard(nil).DialContext(t.Context(), "tcp", ln.Addr().String()); !errors.As(err, &be) {
		t.Fatalf("dial loopback without allow: %v", err)
	}
	c, err := NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}).DialContext(t.Context(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}
