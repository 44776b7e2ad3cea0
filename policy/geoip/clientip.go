package geoip

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// ParsePrefixes parses trusted-proxy networks for ClientIP: CIDR prefixes
// ("10.0.0.0/8", "2001:db8::/32") or single addresses ("192.0.2.7", taken
// as /32 or /128). Prefixes are masked, and IPv4-mapped IPv6 prefixes
// (::ffff:10.0.0.0/104) become their IPv4 form. Any malformed entry is an
// error; the result is a new slice.
func ParsePrefixes(s ...string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(s))
	for _, raw := range s {
		v := strings.TrimSpace(raw)
		var p netip.Prefix
		var err error
		if strings.Contains(v, "/") {
			p, err = netip.ParsePrefix(v)
		} else {
			var a netip.Addr
			a, err = netip.ParseAddr(v)
			if err == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil {
			return nil, fmt.Errorf("geoip: trusted proxy %q: %w", raw, err)
		}
		out = append(out, normPrefix(p))
	}
	return out, nil
}

// normPrefix masks p and turns an IPv4-mapped IPv6 prefix of at least 96
// bits into its IPv4 equivalent, so it matches unmapped addresses.
func normPrefix(p netip.Prefix) netip.Prefix {
	a := p.Addr().WithZone("")
	if a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96).Masked()
	}
	return netip.PrefixFrom(a, p.Bits()).Masked()
}

// ClientIP returns the address of the client that sent r, honouring
// X-Forwarded-For only from trusted proxies:
//
//   - The peer (r.RemoteAddr) is the answer unless it is in trusted.
//   - When the peer is a trusted proxy, X-Forwarded-For (all header lines,
//     in order, comma-separated) is walked from right to left, skipping
//     trusted proxies; the first untrusted address is the client.
//   - An entry that is not an IP address (or IP:port, [IPv6]:port), such
//     as "unknown", stops the walk: whoever wrote it was trusted, but what
//     lies to its left could have been written by anyone. The answer is
//     then the last trusted hop, as it is when every entry is trusted.
//   - A header from an untrusted peer is never read, so a client cannot
//     spoof its location by sending one.
//
// Addresses are returned unmapped (IPv4-mapped IPv6 becomes IPv4) and
// without a zone. The zero Addr is returned only when r.RemoteAddr is not
// an IP address (as with a Unix socket): the location is then unknown,
// and a host serving behind a local proxy over a Unix socket should read
// the client address its proxy passes instead. trusted is only read;
// ClientIP is safe for concurrent use and does not allocate for
// well-formed headers.
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer, ok := parseHop(r.RemoteAddr, true)
	if !ok {
		return netip.Addr{}
	}
	if !isTrusted(peer, trusted) {
		return peer
	}
	last := peer
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		rest := values[i]
		for rest != "" {
			var entry string
			if j := strings.LastIndexByte(rest, ','); j >= 0 {
				entry, rest = rest[j+1:], rest[:j]
			} else {
				entry, rest = rest, ""
			}
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue // "a, , b" or a trailing comma: no hop recorded
			}
			hop, ok := parseHop(entry, false)
			if !ok {
				return last
			}
			if !isTrusted(hop, trusted) {
				return hop
			}
			last = hop
		}
	}
	return last
}

// parseHop parses "ip", "ip:port" or "[ip]:port" (with an optional zone),
// returning the unmapped address without zone. withPort says which form
// to try first (a failed parse allocates its error, so the expected form
// goes first: host:port for RemoteAddr, a bare address in XFF).
func parseHop(s string, withPort bool) (netip.Addr, bool) {
	if withPort {
		if ap, err := netip.ParseAddrPort(s); err == nil {
			return ap.Addr().Unmap().WithZone(""), true
		}
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if !withPort {
		if ap, err := netip.ParseAddrPort(s); err == nil {
			return ap.Addr().Unmap().WithZone(""), true
		}
	}
	// "[2001:db8::1]" without a port.
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return a.Unmap().WithZone(""), true
		}
	}
	return netip.Addr{}, false
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
		// Prefixes not built by ParsePrefixes may be IPv4-mapped.
		if pa := p.Addr(); pa.Is4In6() && p.Bits() >= 96 && normPrefix(p).Contains(a) {
			return true
		}
	}
	return false
}
