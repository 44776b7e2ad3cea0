package geoip_test

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/policy"
	"github.com/hoviyat/hoviyat/policy/geoip"
	"github.com/hoviyat/hoviyat/reason"
	"github.com/hoviyat/hoviyat/registry"
)

var countryCases = []struct {
	name, ip, want string
}{
	{"Iranian IPv4", "2.144.5.6", "IR"},
	{"Iranian IPv4 second range", "5.160.1.1", "IR"},
	{"Iranian IPv4 range end", "5.163.255.255", "IR"},
	{"just past the range", "5.164.0.0", ""},
	{"Iranian IPv6", "2a01:5ec0:1::42", "IR"},
	{"Iranian IPv6 with zone", "2a01:5ec0:1::42%eth0", "IR"},
	{"IPv4-mapped Iranian", "::ffff:2.144.5.6", "IR"},
	{"IPv4-mapped German", "::ffff:46.4.9.9", "DE"},
	{"German", "46.4.100.1", "DE"},
	{"US IPv4", "8.8.8.8", "US"},
	{"US IPv6", "2001:4860:4860::8888", "US"},
	{"registered IR, used in DE", "185.112.33.1", "DE"},
	{"registered US, used in IR", "91.98.10.10", "IR"},
	{"lower-case code in data", "37.98.1.1", "IR"},
	{"no country, only registered", "1.1.1.1", ""},
	{"not in database", "9.9.9.9", ""},
	{"IPv6 not in database", "2606:4700::1111", ""},
	{"private", "10.1.2.3", ""},
	{"private 192.168", "192.168.1.1", ""},
	{"loopback", "127.0.0.1", ""},
	{"IPv6 loopback", "::1", ""},
	{"link-local", "fe80::1%eth0", ""},
	{"unique local", "fd00::1", ""},
	{"multicast", "224.0.0.1", ""},
	{"unspecified", "0.0.0.0", ""},
}

func TestCountry(t *testing.T) {
	t.Parallel()
	db := openTestDB(t)
	for _, tc := range countryCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := db.Country(context.Background(), netip.MustParseAddr(tc.ip))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestFromBytesCopies(t *testing.T) {
	t.Parallel()
	b := buildDB(t, 6)
	db, err := geoip.FromBytes(b)
	require.NoError(t, err)
	defer db.Close()
	clear(b) // the DB must not depend on the caller's buffer
	got, err := db.Country(context.Background(), netip.MustParseAddr("2.144.0.1"))
	require.NoError(t, err)
	assert.Equal(t, "IR", got)
}

func TestIPv4OnlyDatabase(t *testing.T) {
	t.Parallel()
	db, err := geoip.FromBytes(buildDB(t, 4))
	require.NoError(t, err)
	defer db.Close()
	assert.Equal(t, 4, db.Info().IPVersion)
	for ip, want := range map[string]string{
		"2.144.0.1":        "IR",
		"::ffff:2.144.0.1": "IR",
		"46.4.0.1":         "DE",
		"2a01:5ec0::1":     "",
	} {
		got, err := db.Country(context.Background(), netip.MustParseAddr(ip))
		require.NoError(t, err, ip)
		assert.Equal(t, want, got, ip)
	}
}

func TestInfo(t *testing.T) {
	t.Parallel()
	db := openTestDB(t)
	in := db.Info()
	assert.Equal(t, "Hoviyat-Test-Country", in.DatabaseType)
	assert.Equal(t, 6, in.IPVersion)
	assert.WithinDuration(t, time.Now(), in.BuildTime, time.Hour)
}

func TestErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	_, err := geoip.Open(filepath.Join(t.TempDir(), "missing.mmdb"))
	require.Error(t, err)
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.NotErrorIs(t, err, geoip.ErrMalformed)

	_, err = geoip.FromBytes([]byte("this is not a MaxMind database"))
	assert.ErrorIs(t, err, geoip.ErrMalformed)

	garbage := filepath.Join(t.TempDir(), "garbage.mmdb")
	require.NoError(t, os.WriteFile(garbage, []byte("nope"), 0o600))
	_, err = geoip.Open(garbage)
	assert.ErrorIs(t, err, geoip.ErrMalformed)

	db := openTestDB(t)
	_, err = db.Country(ctx, netip.Addr{})
	assert.ErrorIs(t, err, geoip.ErrInvalidAddr)

	cc, err := db.Country(ctx, netip.MustParseAddr("203.0.113.9"))
	assert.ErrorIs(t, err, geoip.ErrMalformed, "a three-letter code is corrupt data")
	assert.Empty(t, cc)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = db.Country(cctx, netip.MustParseAddr("2.144.0.1"))
	assert.ErrorIs(t, err, context.Canceled)

	require.NoError(t, db.Close())
	require.NoError(t, db.Close(), "Close is idempotent")
	_, err = db.Country(ctx, netip.MustParseAddr("2.144.0.1"))
	assert.ErrorIs(t, err, geoip.ErrClosed)
	assert.Equal(t, geoip.Info{}, db.Info())
}

// TestConcurrentLookupsAndClose: lookups race with Close under -race; each
// answers correctly or reports ErrClosed.
func TestConcurrentLookupsAndClose(t *testing.T) {
	t.Parallel()
	db, err := geoip.FromBytes(buildDB(t, 6))
	require.NoError(t, err)
	ips := []netip.Addr{netip.MustParseAddr("2.144.0.1"), netip.MustParseAddr("46.4.0.1"), netip.MustParseAddr("2a01:5ec0::9")}
	want := []string{"IR", "DE", "IR"}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				k := (g + i) % len(ips)
				got, err := db.Country(context.Background(), ips[k])
				switch {
				case errors.Is(err, geoip.ErrClosed):
					return
				case err != nil:
					errs <- err
					return
				case got != want[k]:
					errs <- errors.New(ips[k].String() + ": got " + got)
					return
				}
			}
		})
	}
	wg.Go(func() {
		time.Sleep(time.Millisecond)
		_ = db.Close()
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
}

// TestPolicyDomesticAccess wires the database into policy: Iranian
// addresses pass, foreign ones are outside_country, and an address the
// database does not know is denied in strict mode.
func TestPolicyDomesticAccess(t *testing.T) {
	t.Parallel()
	db := openTestDB(t)
	strict, err := policy.New(policy.Config{})
	require.NoError(t, err)
	lenient, err := policy.New(policy.Config{AllowUnknownCountry: true})
	require.NoError(t, err)
	now := time.Date(2024, 9, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		ip            string
		strict, loose []reason.Code
	}{
		{"2.144.5.6", nil, nil},
		{"::ffff:5.160.0.9", nil, nil},
		{"2a01:5ec0::5", nil, nil},
		{"46.4.1.1", []reason.Code{reason.OutsideCountry}, []reason.Code{reason.OutsideCountry}},
		{"185.112.33.1", []reason.Code{reason.OutsideCountry}, []reason.Code{reason.OutsideCountry}},
		{"9.9.9.9", []reason.Code{reason.LocationUnknown}, nil},
		{"10.0.0.1", []reason.Code{reason.LocationUnknown}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.ip, func(t *testing.T) {
			t.Parallel()
			cc, err := db.Country(context.Background(), netip.MustParseAddr(tc.ip))
			require.NoError(t, err)
			f := policy.Facts{
				Stage:          policy.StageInquiry,
				Person:         &registry.Person{BirthDate: registry.Date{Year: 1370, Month: 1, Day: 1}, Alive: true, Native: true},
				Country:        cc,
				CountryChecked: true,
				MobileOwned:    true,
			}
			assert.Equal(t, tc.strict, strict.EvaluateAt(f, now).Reasons, "strict")
			assert.Equal(t, tc.loose, lenient.EvaluateAt(f, now).Reasons, "allow unknown")
		})
	}
}
