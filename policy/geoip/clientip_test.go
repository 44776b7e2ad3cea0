package geoip_test

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/policy/geoip"
)

func TestParsePrefixes(t *testing.T) {
	t.Parallel()
	got, err := geoip.ParsePrefixes("10.0.0.0/8", " 192.0.2.7 ", "2001:db8::/32", "::ffff:172.16.0.0/108", "10.1.2.3/16", "2001:db8::5")
	require.NoError(t, err)
	assert.Equal(t, []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("192.0.2.7/32"),
		netip.MustParsePrefix("2001:db8::/32"),
		netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("10.1.0.0/16"),
		netip.MustParsePrefix("2001:db8::5/128"),
	}, got)

	for _, bad := range []string{"", "10.0.0.0/33", "example.com", "10.0.0/8", "fe80::1%eth0/64"} {
		_, err := geoip.ParsePrefixes("10.0.0.0/8", bad)
		assert.Error(t, err, "%q", bad)
		if err != nil {
			assert.True(t, strings.HasPrefix(err.Error(), "geoip: "), err.Error())
		}
	}
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	lb, err := geoip.ParsePrefixes("10.0.0.0/8", "2001:db8::/32")
	require.NoError(t, err)
	tests := []struct {
		name    string
		remote  string
		xff     []string // header lines
		trusted []netip.Prefix
		want    string // "" for the zero Addr
	}{
		{name: "no proxy", remote: "2.144.1.1:5555", want: "2.144.1.1"},
		{name: "XFF from an untrusted peer is ignored", remote: "46.4.1.1:5555", xff: []string{"2.144.1.1"}, trusted: lb, want: "46.4.1.1"},
		{name: "XFF ignored when nothing is trusted", remote: "46.4.1.1:5555", xff: []string{"2.144.1.1"}, want: "46.4.1.1"},
		{name: "one trusted proxy", remote: "10.0.0.1:80", xff: []string{"46.4.1.1"}, trusted: lb, want: "46.4.1.1"},
		{name: "chain of trusted proxies", remote: "10.0.0.1:80", xff: []string{"2.144.1.1, 10.0.0.2, 10.0.0.3"}, trusted: lb, want: "2.144.1.1"},
		{name: "client-forged entries left of the client are ignored", remote: "10.0.0.1:80", xff: []string{"2.144.9.9, 5.160.0.1, 46.4.1.1, 10.0.0.2"}, trusted: lb, want: "46.4.1.1"},
		{name: "client forging a trusted address", remote: "10.0.0.1:80", xff: []string{"10.9.9.9, 46.4.1.1"}, trusted: lb, want: "46.4.1.1"},
		{name: "several header lines", remote: "10.0.0.1:80", xff: []string{"9.9.9.9, 2.144.1.1", "10.0.0.2"}, trusted: lb, want: "2.144.1.1"},
		{name: "everything trusted gives the farthest hop", remote: "10.0.0.1:80", xff: []string{"10.0.0.5, 10.0.0.2"}, trusted: lb, want: "10.0.0.5"},
		{name: "trusted peer without XFF", remote: "10.0.0.1:80", trusted: lb, want: "10.0.0.1"},
		{name: "malformed entry stops the walk", remote: "10.0.0.1:80", xff: []string{"2.144.1.1, unknown, 10.0.0.2"}, trusted: lb, want: "10.0.0.2"},
		{name: "malformed entry right after the peer", remote: "10.0.0.1:80", xff: []string{"2.144.1.1, _hidden"}, trusted: lb, want: "10.0.0.1"},
		{name: "empty entries skipped", remote: "10.0.0.1:80", xff: []string{"2.144.1.1, , 10.0.0.2,"}, trusted: lb, want: "2.144.1.1"},
		{name: "entries with ports", remote: "10.0.0.1:80", xff: []string{"[2a01:5ec0::7]:443, 10.0.0.2:8080"}, trusted: lb, want: "2a01:5ec0::7"},
		{name: "bracketed IPv6 without port", remote: "10.0.0.1:80", xff: []string{"[2a01:5ec0::7]"}, trusted: lb, want: "2a01:5ec0::7"},
		{name: "IPv4-mapped peer and entry", remote: "[::ffff:10.0.0.1]:80", xff: []string{"::ffff:2.144.1.1"}, trusted: lb, want: "2.144.1.1"},
		{name: "IPv6 proxy", remote: "[2001:db8::1]:443", xff: []string{"5.160.0.1, 2001:db8::2"}, trusted: lb, want: "5.160.0.1"},
		{name: "zone dropped", remote: "[fe80::1%eth0]:80", want: "fe80::1"},
		{name: "raw IPv4-mapped trusted prefix", remote: "10.0.0.1:80", xff: []string{"46.4.1.1"}, trusted: []netip.Prefix{netip.MustParsePrefix("::ffff:10.0.0.0/104")}, want: "46.4.1.1"},
		{name: "unix socket peer", remote: "@", xff: []string{"2.144.1.1"}, trusted: lb, want: ""},
		{name: "empty peer", remote: "", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			got := geoip.ClientIP(r, tc.trusted)
			if tc.want == "" {
				assert.False(t, got.IsValid(), "got %v", got)
				return
			}
			assert.Equal(t, netip.MustParseAddr(tc.want), got)
		})
	}
}

// TestClientIPSpoofEndToEnd: a German client claiming an Iranian address
// in X-Forwarded-For is located in Germany, directly or through the
// trusted load balancer.
func TestClientIPSpoofEndToEnd(t *testing.T) {
	t.Parallel()
	db := openTestDB(t)
	lb, err := geoip.ParsePrefixes("10.0.0.0/8")
	require.NoError(t, err)

	direct := httptest.NewRequest("GET", "/", nil)
	direct.RemoteAddr = "46.4.1.1:40000"
	direct.Header.Set("X-Forwarded-For", "2.144.1.1")

	viaLB := httptest.NewRequest("GET", "/", nil)
	viaLB.RemoteAddr = "10.0.0.1:80"
	viaLB.Header.Set("X-Forwarded-For", "2.144.1.1, 46.4.1.1")

	for name, ip := range map[string]netip.Addr{
		"direct": geoip.ClientIP(direct, lb),
		"via LB": geoip.ClientIP(viaLB, lb),
	} {
		cc, err := db.Country(context.Background(), ip)
		require.NoError(t, err, name)
		assert.Equal(t, "DE", cc, name)
	}
}

func TestClientIPDoesNotAllocate(t *testing.T) {
	lb, err := geoip.ParsePrefixes("10.0.0.0/8")
	require.NoError(t, err)
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.1:80"
	r.Header.Set("X-Forwarded-For", "2.144.1.1, 10.0.0.2, 10.0.0.3")
	var got netip.Addr
	allocs := testing.AllocsPerRun(100, func() { got = geoip.ClientIP(r, lb) })
	assert.Equal(t, netip.MustParseAddr("2.144.1.1"), got)
	assert.Zero(t, allocs)
}

// FuzzClientIP: any peer address and header never panic; an untrusted peer
// is always the answer; otherwise the answer is the peer or one of the
// header's entries.
func FuzzClientIP(f *testing.F) {
	f.Add("10.0.0.1:80", "2.144.1.1, 10.0.0.2")
	f.Add("46.4.1.1:5555", "2.144.1.1")
	f.Add("[::ffff:10.0.0.1]:80", "[2a01:5ec0::7]:443, unknown,,")
	f.Add("@", "1.2.3.4")
	lb, err := geoip.ParsePrefixes("10.0.0.0/8", "2001:db8::/32")
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		got := geoip.ClientIP(r, lb)
		peer, perr := netip.ParseAddrPort(remote)
		if perr == nil && !lb[0].Contains(peer.Addr().Unmap()) && !lb[1].Contains(peer.Addr().Unmap()) {
			require.Equal(t, peer.Addr().Unmap().WithZone(""), got)
		}
		if !got.IsValid() {
			return
		}
		require.Empty(t, got.Zone())
		require.False(t, got.Is4In6())
		if perr == nil && got == peer.Addr().Unmap().WithZone("") {
			return
		}
		// Otherwise the answer must come from the header (or the peer in
		// a form ParseAddrPort rejects, such as "[ip]" alone).
		require.True(t, containsAddr(xff+","+remote, got), "%v not in %q / %q", got, xff, remote)
	})
}

// containsAddr reports whether any comma-separated token of s parses
// (loosely) to a.
func containsAddr(s string, a netip.Addr) bool {
	for _, tok := range strings.Split(s, ",") {
		tok = strings.Trim(strings.TrimSpace(tok), "[]")
		if ap, err := netip.ParseAddrPort(strings.TrimSpace(tok)); err == nil && ap.Addr().Unmap().WithZone("") == a {
			return true
		}
		if i := strings.LastIndex(tok, "]:"); i >= 0 {
			tok = tok[:i]
		}
		if b, err := netip.ParseAddr(tok); err == nil && b.Unmap().WithZone("") == a {
			return true
		}
	}
	return false
}
