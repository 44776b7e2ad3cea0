package geoip_test

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/policy/geoip"
)

// testNetworks is a synthetic country database built at test time with
// github.com/maxmind/mmdbwriter, so no data file is committed. The ranges
// are chosen to look like the real allocations (2.144.0.0/14 and
// 5.160.0.0/14 are Iranian mobile/fixed networks), but the database is
// ours: it asserts nothing about the real world.
var testNetworks = []struct {
	cidr       string
	country    string // "" leaves the "country" key out
	registered string // "" leaves "registered_country" out
}{
	{"2.144.0.0/14", "IR", "IR"},
	{"5.160.0.0/14", "IR", "IR"},
	{"2a01:5ec0::/29", "IR", "IR"},
	{"46.4.0.0/16", "DE", "DE"},
	{"8.8.8.0/24", "US", "US"},
	{"2001:4860::/32", "US", "US"},
	// Registered to an Iranian organisation but used in Germany: the
	// country field decides, so this is DE.
	{"185.112.32.0/22", "DE", "IR"},
	// Registered abroad, used in Iran: IR.
	{"91.98.0.0/16", "IR", "US"},
	// Anycast: no country at all, only where it is registered.
	{"1.1.1.0/24", "", "AU"},
	// Lower case in the data is normalised.
	{"37.98.0.0/17", "ir", "IR"},
	// A corrupt record.
	{"203.0.113.0/24", "IRN", "IR"},
}

func countryRecord(iso string) mmdbtype.Map {
	return mmdbtype.Map{
		"iso_code":   mmdbtype.String(iso),
		"geoname_id": mmdbtype.Uint32(130758),
		"names":      mmdbtype.Map{"en": mmdbtype.String(iso)},
	}
}

// buildDB writes the synthetic database (IP version 4 or 6) and returns
// its bytes.
func buildDB(t testing.TB, ipVersion int) []byte {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            "Hoviyat-Test-Country",
		IPVersion:               ipVersion,
		RecordSize:              24,
		IncludeReservedNetworks: true, // 203.0.113.0/24 is TEST-NET-3
	})
	require.NoError(t, err)
	for _, n := range testNetworks {
		_, ipn, err := net.ParseCIDR(n.cidr)
		require.NoError(t, err)
		if ipVersion == 4 && ipn.IP.To4() == nil {
			continue
		}
		rec := mmdbtype.Map{}
		if n.country != "" {
			rec["country"] = countryRecord(n.country)
		}
		if n.registered != "" {
			rec["registered_country"] = countryRecord(n.registered)
		}
		require.NoError(t, tree.Insert(ipn, rec))
	}
	var buf bytes.Buffer
	_, err = tree.WriteTo(&buf)
	require.NoError(t, err)
	return buf.Bytes()
}

// openTestDB writes the IPv6 database to a temporary file and opens it.
func openTestDB(t testing.TB) *geoip.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test-country.mmdb")
	require.NoError(t, os.WriteFile(path, buildDB(t, 6), 0o600))
	db, err := geoip.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}
