package main

import (
	"context"
	"net/netip"

	"github.com/hoviyat/hoviyat/kyc"
)

// devLocator is the DEVELOPMENT-ONLY kyc.Locator of -geoip=dev: loopback
// and private (RFC 1918, ULA) addresses count as Iran so the page can be
// tried on a laptop or a LAN; every other address is "unknown" (refused
// with location_unknown by the default policy). Never use it in
// production: anyone reaching the server through a local proxy would pass
// the domestic-access rule. Safe for concurrent use.
type devLocator struct{}

var _ kyc.Locator = devLocator{}

// Country implements kyc.Locator.
func (devLocator) Country(ctx context.Context, ip netip.Addr) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsPrivate() {
		return "IR", nil
	}
	return "", nil
}
