// Command brokerage is a reference HTTP server a brokerage could copy to
// run Hoviyat's remote identity verification: a JSON API under /api/, a
// web page at / that records the selfie video in the browser, Prometheus
// metrics at /metrics and /healthz. Run `go run ./examples/brokerage
// -help` for the configuration (flags with environment fallbacks).
//
//	go run ./examples/brokerage -vision=fake          # no models needed
//	go run ./examples/brokerage -models $HOVIYAT_MODELS -photo-root $HOVIYAT_DATA
//
// Endpoints (JSON; errors are {"error": {"code", "message", "reason",
// "reasons", "messages": {"fa": [...], "en": [...]}}}):
//
//	POST /api/inquiry                 {national_id, birth_date, mobile} -> eligibility and reasons
//	POST /api/otp                     same body -> code sent (masked mobile, expiry)
//	POST /api/otp/confirm             {national_id, code}
//	POST /api/sessions                same body as inquiry -> session ID, challenge, head turn, expiry, attempts left
//	POST /api/sessions/{id}/video     multipart field "video" -> decision (outcome, reasons, attempts left)
//	GET  /api/status/{nationalID}     state, attempts, last decision
//	GET  /api/reasons                 the reason catalogue (codes, Persian and English texts and hints)
//	GET  /api/config                  what the page needs (vision mode, record seconds, upload cap)
//	GET  /api/reviews                 operator: decisions waiting for review (bearer token)
//	POST /api/reviews/{attemptID}     operator: {approve, operator_id, note, reasons}
//	GET  /api/reviews/{attemptID}/inspect  operator: contact sheet PNG (?plot=timeline|data, ?redact=1)
//	GET  /api/dev/otp/{mobile}        operator, development only: the console OTP sender's last code
//	GET  /metrics, GET /healthz, GET / (the page)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run serves until ctx is done, then shuts down gracefully: /healthz turns
// 503, the listener closes, in-flight requests (uploads being analysed)
// get ShutdownTimeout to finish, then the verifier, store and vault
// close. ready, if not nil, receives the listening address.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, ready chan<- string) error {
	o, err := parseOptions(args, getenv, stderr)
	if err != nil {
		return err
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(o.LogLevel))
	log := newLogger(stderr, level)
	a, err := buildApp(ctx, o, log, buildHooks{})
	if err != nil {
		return err
	}
	defer func() {
		if err := a.Close(); err != nil {
			log.Error("closing", "err", err)
		}
	}()

	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("brokerage: %w", err)
	}
	srv := &http.Server{
		Handler:           a.Server,
		ReadHeaderTimeout: 10 * time.Second,
		// Uploads of up to -max-upload on a slow mobile link, then the
		// analysis: generous, but bounded.
		ReadTimeout:  5 * time.Minute,
		WriteTimeout: 10 * time.Minute,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", "addr", ln.Addr().String(), "vision", o.Vision, "store", storeKind(o.Store))
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests", "timeout", o.ShutdownTimeout.String())
	a.Server.Drain()
	sctx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("shutdown deadline passed; closing remaining connections", "err", err)
		_ = srv.Close()
	}
	log.Info("stopped")
	return nil
}

func storeKind(s string) string {
	if len(s) > 7 && s[:7] == "sqlite:" {
		return "sqlite"
	}
	return "postgres"
}
