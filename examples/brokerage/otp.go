package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/registry"
)

// ConsoleOTP is a development kyc.OTPSender: instead of sending an SMS it
// logs the code (with the mobile masked) and keeps the last code per
// mobile, which the operator-only dev endpoint and tests can read. A
// production host plugs its SMS gateway in as a kyc.OTPSender instead.
// Safe for concurrent use.
type ConsoleOTP struct {
	log *slog.Logger

	mu    sync.Mutex
	codes map[registry.Mobile]string
}

var _ kyc.OTPSender = (*ConsoleOTP)(nil)

// NewConsoleOTP returns a sender logging to log (nil: discard).
func NewConsoleOTP(log *slog.Logger) *ConsoleOTP {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &ConsoleOTP{log: log, codes: map[registry.Mobile]string{}}
}

// Send implements kyc.OTPSender.
func (c *ConsoleOTP) Send(ctx context.Context, m registry.Mobile, code string, ttl time.Duration) error {
	c.mu.Lock()
	c.codes[m] = code
	c.mu.Unlock()
	c.log.WarnContext(ctx, "DEV OTP sender: code not sent by SMS", "mobile", m.Masked(), "code", code, "ttl", ttl.String())
	return nil
}

// LastCode returns the last code sent to m ("" if none).
func (c *ConsoleOTP) LastCode(m registry.Mobile) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.codes[m]
}
