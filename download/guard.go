package download

import (
	"fmt"
	"net/netip"
	"syscall"
)

// BlockedError is returned when a connection would reach an address the
// guard refuses (loopback, private, link-local, ...). It is never retried.
type BlockedError struct {
	Addr  netip.Addr
	Class string // "loopback", "private network", ...
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("blocked address %s (%s); allow it with [download] allow_networks", e.Addr, e.Class)
}

// Ranges that netip.Addr's predicates do not name.
var extraBlocked = []struct {
	p     netip.Prefix
	class string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT"},
	{netip.MustParsePrefix("192.0.0.0/24"), "reserved"},
	{netip.MustParsePrefix("198.18.0.0/15"), "reserved"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // includes 255.255.255.255
	{netip.MustParsePrefix("::/96"), "reserved"},       // IPv4-compatible, deprecated
	{netip.MustParsePrefix("100::/64"), "reserved"},    // discard-only
}

// nat64 embeds an IPv4 address in its low 32 bits; the embedded address is
// what is really reached, so it is classified too.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// classify says why addr must not be reached, or "" when it is a public
// address.
func classify(addr netip.Addr) string {
	addr = addr.Unmap() // ::ffff:10.0.0.1 is 10.0.0.1
	if addr.Is6() && nat64.Contains(addr) {
		b := addr.As16()
		addr = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	switch {
	case !addr.IsValid():
		return "invalid"
	case addr.IsUnspecified():
		return "unspecified"
	case addr.IsLoopback():
		return "loopback"
	case addr.IsPrivate():
		return "private network"
	case addr.IsLinkLocalUnicast():
		return "link-local"
	case addr.IsMulticast(), addr.IsLinkLocalMulticast(), addr.IsInterfaceLocalMulticast():
		return "multicast"
	}
	for _, b := range extraBlocked {
		if b.p.Contains(addr) {
			return b.class
		}
	}
	return ""
}

// checkAddr returns a *BlockedError when addr is refused and not inside one
// of allow.
func checkAddr(addr netip.Addr, allow []netip.Prefix) error {
	class := classify(addr)
	if class == "" {
		return nil
	}
	for _, p := range allow {
		if p.Contains(addr) || p.Contains(addr.Unmap()) {
			return nil
		}
	}
	return &BlockedError{Addr: addr.Unmap(), Class: class}
}

// control runs after the socket is made and before connect(2), on the
// resolved address: so it covers redirects and DNS rebinding, and a refused
// address never sees a packet.
func (f *Fetcher) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("address guard: cannot parse %q: %w", address, err)
	}
	// A zone (fe80::1%eth0) would keep Prefix.Contains from matching.
	return checkAddr(ap.Addr().WithZone(""), f.opts.AllowNetworks)
}
