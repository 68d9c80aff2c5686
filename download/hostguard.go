package download

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// Guard applies the fetcher's address rules to connections the fetcher does
// not make itself (the headless browser), so that one allow_networks list
// governs every request mangabot causes.
type Guard struct {
	allow    []netip.Prefix
	resolver *net.Resolver
}

// NewGuard makes a Guard that refuses loopback, private, link-local and
// metadata addresses unless one of allow covers them.
func NewGuard(allow []netip.Prefix) *Guard {
	return &Guard{allow: append([]netip.Prefix(nil), allow...), resolver: net.DefaultResolver}
}

// CheckAddr returns a *BlockedError when addr is refused.
func (g *Guard) CheckAddr(addr netip.Addr) error {
	return checkAddr(addr.WithZone(""), g.allow)
}

// CheckHost resolves host (a name or an address literal, without port) and
// returns a *BlockedError when any of its addresses is refused: a name
// whose answers mix public and private addresses could be dialled on
// either. It is a pre-check; DialContext checks again at dial time.
func (g *Guard) CheckHost(ctx context.Context, host string) error {
	if a, err := netip.ParseAddr(host); err == nil {
		return g.CheckAddr(a)
	}
	addrs, err := g.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", host, err)
	}
	for _, a := range addrs {
		if err := g.CheckAddr(a); err != nil {
			return err
		}
	}
	return nil
}

// DialContext dials like net.Dialer, refusing blocked addresses after DNS
// resolution and before connect(2), as the fetcher's own dialer does.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d := net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: g.control}
	return d.DialContext(ctx, network, address)
}

func (g *Guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("address guard: cannot parse %q: %w", address, err)
	}
	return g.CheckAddr(ap.Addr())
}
