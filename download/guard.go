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
	{netip.MustParsePrefix("fec0::/10"), "site-local"}, // deprecated, still routed privately
}

// IPv6 forms that carry an IPv4 address: the packet really goes to (or
// through) that IPv4 address, so it is what is classified.
var (
	sixToFour = netip.MustParsePrefix("2002::/16")      // 6to4: v4 in bits 16–48
	teredo    = netip.MustParsePrefix("2001::/32")      // Teredo: server v4 in bits 32–64, client v4 (inverted) in the last 32
	nat64     = netip.MustParsePrefix("64:ff9b::/96")   // well-known NAT64 prefix: v4 in the last 32 bits
	nat64Loc  = netip.MustParsePrefix("64:ff9b:1::/48") // local-use NAT64 (RFC 8215), taken in its /96 form
)

// embeddedV4 returns the IPv4 addresses an IPv6 address embeds (6to4,
// Teredo, NAT64), or nil.
func embeddedV4(addr netip.Addr) []netip.Addr {
	if !addr.Is6() {
		return nil
	}
	b := addr.As16()
	switch {
	case sixToFour.Contains(addr):
		return []netip.Addr{netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})}
	case teredo.Contains(addr):
		client := netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]})
		server := netip.AddrFrom4([4]byte{b[4], b[5], b[6], b[7]})
		return []netip.Addr{client, server}
	case nat64.Contains(addr), nat64Loc.Contains(addr):
		// A local-use NAT64 network may use a shorter RFC 6052 prefix,
		// which would put the v4 address elsewhere; the /96 layout is the
		// one in use in practice.
		return []netip.Addr{netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})}
	}
	return nil
}

// classify says why addr must not be reached, or "" when it is a public
// address. An IPv6 address that embeds an IPv4 address (6to4, Teredo,
// NAT64) takes the class of the embedded address.
func classify(addr netip.Addr) string {
	addr = addr.Unmap() // ::ffff:10.0.0.1 is 10.0.0.1
	for _, v4 := range embeddedV4(addr) {
		if c := classifyPlain(v4); c != "" {
			return c
		}
	}
	return classifyPlain(addr)
}

func classifyPlain(addr netip.Addr) string {
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
