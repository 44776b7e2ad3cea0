// Package geoip answers "which country is this IP in?" from a MaxMind DB
// (.mmdb) file, such as GeoLite2-Country or GeoIP2-City, and finds the
// client's IP behind trusted reverse proxies.
//
// It reads the database with github.com/oschwald/maxminddb-golang/v2 (the
// reader geoip2-golang and MaxMind's mmdbwriter build on) rather than
// parsing the format here. The decision uses the record's "country" (where the address
// is used), never "registered_country" (where the block was registered): a
// foreign block routed in Iran is domestic, an Iranian block announced
// abroad is not.
//
// A host wires it into kyc like this:
//
//	db, err := geoip.Open("/var/lib/GeoIP/GeoLite2-Country.mmdb")
//	...
//	defer db.Close()
//	trusted, err := geoip.ParsePrefixes("10.0.0.0/8") // the load balancers
//	...
//	applicant.IP = geoip.ClientIP(r, trusted)
//	// kyc.Config{Locator: db, ...}
//
// Refreshing the database means opening a new DB and swapping it in; a DB
// never changes after Open.
package geoip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/hoviyat/hoviyat/kyc"
)

var _ kyc.Locator = (*DB)(nil)

// Errors of the package. Match them with errors.Is.
var (
	// ErrClosed: the DB was used after Close.
	ErrClosed = errors.New("geoip: database is closed")
	// ErrInvalidAddr: Country was given the zero netip.Addr.
	ErrInvalidAddr = errors.New("geoip: invalid IP address")
	// ErrMalformed: the database is not a MaxMind DB, or a record's
	// country code is not two letters.
	ErrMalformed = errors.New("geoip: malformed database")
)

// DB is an open MaxMind DB. It is safe for concurrent use; Close waits for
// lookups in progress and is idempotent.
type DB struct {
	mu sync.RWMutex
	r  *maxminddb.Reader // nil once closed
}

// Open opens the MaxMind DB file at path (memory-mapped where the platform
// allows). Close releases it.
func Open(path string) (*DB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("geoip: open %s: %w", path, wrapMalformed(err))
	}
	return newDB(r)
}

// FromBytes opens a MaxMind DB held in memory. b is copied, so the caller
// may reuse it.
func FromBytes(b []byte) (*DB, error) {
	r, err := maxminddb.OpenBytes(append([]byte(nil), b...))
	if err != nil {
		return nil, fmt.Errorf("geoip: %w", wrapMalformed(err))
	}
	return newDB(r)
}

func newDB(r *maxminddb.Reader) (*DB, error) {
	if r.Metadata.IPVersion != 4 && r.Metadata.IPVersion != 6 {
		_ = r.Close()
		return nil, fmt.Errorf("%w: IP version %d", ErrMalformed, r.Metadata.IPVersion)
	}
	return &DB{r: r}, nil
}

// wrapMalformed marks the reader's "invalid database" errors with
// ErrMalformed and leaves others (file not found, permissions) alone.
func wrapMalformed(err error) error {
	var inv maxminddb.InvalidDatabaseError
	if errors.As(err, &inv) {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return err
}

// Close releases the database. It is idempotent; lookups after Close
// return ErrClosed.
func (d *DB) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.r == nil {
		return nil
	}
	err := d.r.Close()
	d.r = nil
	if err != nil {
		return fmt.Errorf("geoip: close: %w", err)
	}
	return nil
}

// Country returns the ISO 3166-1 alpha-2 code (upper case) of the country
// in which ip is used, from the record's "country" field. It returns "" and
// a nil error when the answer is unknown: a private, loopback, link-local,
// multicast or unspecified address, an address not in the database, or a
// record without a country (some anycast and satellite ranges). An
// IPv4-mapped IPv6 address (::ffff:a.b.c.d) is looked up as IPv4, and an
// IPv6 zone is ignored.
//
// An error means no answer could be given: a cancelled ctx, a closed DB,
// the zero Addr (ErrInvalidAddr), or a corrupt record (ErrMalformed).
// The lookup itself does not block; ctx is checked once before it.
func (d *DB) Country(ctx context.Context, ip netip.Addr) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("geoip: %w", err)
	}
	if !ip.IsValid() {
		return "", ErrInvalidAddr
	}
	ip = ip.Unmap().WithZone("")
	if !routable(ip) {
		return "", nil
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.r == nil {
		return "", ErrClosed
	}
	if ip.Is6() && d.r.Metadata.IPVersion == 4 {
		// An IPv4-only database has no answer for IPv6 (the reader
		// would return an error).
		return "", nil
	}
	var cc string
	if err := d.r.Lookup(ip).DecodePath(&cc, "country", "iso_code"); err != nil {
		return "", fmt.Errorf("geoip: lookup %s: %w: %w", ip, ErrMalformed, err)
	}
	if cc == "" {
		return "", nil
	}
	up := strings.ToUpper(cc)
	if len(up) != 2 || up[0] < 'A' || up[0] > 'Z' || up[1] < 'A' || up[1] > 'Z' {
		return "", fmt.Errorf("geoip: lookup %s: %w: country code %q", ip, ErrMalformed, cc)
	}
	return up, nil
}

// routable reports whether ip can have a country: not private (RFC 1918,
// fc00::/7), loopback, link-local, multicast or unspecified.
func routable(ip netip.Addr) bool {
	return !(ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() ||
		ip.IsMulticast() || ip.IsUnspecified())
}

// Info describes the open database, for logs and decision records.
type Info struct {
	// DatabaseType, e.g. "GeoLite2-Country".
	DatabaseType string
	BuildTime    time.Time
	IPVersion    int
}

// Info returns the database's metadata (the zero Info after Close).
func (d *DB) Info() Info {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.r == nil {
		return Info{}
	}
	m := d.r.Metadata
	return Info{DatabaseType: m.DatabaseType, BuildTime: m.BuildTime(), IPVersion: int(m.IPVersion)}
}
