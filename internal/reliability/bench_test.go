package reliability_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/kyc/kyctest"
	"github.com/hoviyat/hoviyat/policy"
	"github.com/hoviyat/hoviyat/registry"
	"github.com/hoviyat/hoviyat/registry/registrytest"
)

// Benchmarks of the SDK's own hot paths, around the vision pipeline (which
// liveness/cv and facematch/onnx benchmark): what one ceremony costs in
// the Verifier and its store, the refusal paths an attacker can hammer,
// OTP checks, audit verification and the registry client failing fast.
// Output is standard `go test -bench` output; compare runs with benchstat:
//
//	go test -run '^$' -bench . -benchmem -count 6 ./internal/reliability/ > new.txt
//	benchstat old.txt new.txt

// benchStore is a store to benchmark on.
type benchStore struct {
	name string
	open func(b *testing.B) kyc.Store
}

// benchStores returns the stores to benchmark, in a fixed order: SQLite
// and, with HOVIYAT_PG_DSN, PostgreSQL. (store/memory is a test fake whose
// ReserveAttempt scans every stored charge, so its cost per op grows with
// b.N and would not compare between runs.)
func benchStores(b *testing.B) []benchStore {
	out := []benchStore{
		{"sqlite", func(b *testing.B) kyc.Store { return openSQLite(b) }},
	}
	if dsn := os.Getenv("HOVIYAT_PG_DSN"); dsn != "" {
		out = append(out, benchStore{"postgres", func(b *testing.B) kyc.Store { return openPG(b, dsn, randomSchema("rel_bench_")) }})
	}
	return out
}

// benchHarness is a Verifier on st whose policy allows re-verification,
// so one applicant can be approved again and again.
func benchHarness(b *testing.B, st kyc.Store) *kyctest.Harness {
	b.Helper()
	h, err := kyctest.New(kyctest.Options{Store: st, Fee: 1000, Policy: policy.Config{AllowReverification: true},
		Configure: func(c *kyc.Config) { c.OTPConfirmedTTL = 24 * time.Hour; c.SessionTTL = time.Hour }})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// benchApplicant adds a person with a confirmed OTP.
func benchApplicant(b *testing.B, h *kyctest.Harness) kyc.Applicant {
	b.Helper()
	a, err := h.AddPerson(kyctest.PersonSpec{NationalID: nids(1)[0]})
	if err != nil {
		b.Fatal(err)
	}
	if err := h.ConfirmOTP(context.Background(), a); err != nil {
		b.Fatal(err)
	}
	return a
}

// BenchmarkCeremony is Begin + Submit of an approved (fake) video: the
// SDK's work per verification without the vision pipeline (policy,
// registry and GeoIP fakes, spooling, two store transactions, the fee,
// the vault fake, audit events). A new applicant every 64 ceremonies
// (set up off the clock) keeps the per-applicant history short.
func BenchmarkCeremony(b *testing.B) {
	for _, bs := range benchStores(b) {
		b.Run(bs.name, func(b *testing.B) {
			h := benchHarness(b, bs.open(b))
			ctx := context.Background()
			var a kyc.Applicant
			var video []byte
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i%64 == 0 {
					b.StopTimer()
					a = benchApplicant(b, h)
					video = videoBytes(b, kyctest.VideoSpec{Behaviour: kyctest.Live, Face: a.NationalID})
					b.StartTimer()
				}
				i++
				s, err := h.Verifier.Begin(ctx, a)
				if err != nil {
					b.Fatal(err)
				}
				d, err := h.Verifier.Submit(ctx, s.ID, bytesReader(video))
				if err != nil || d.Outcome != kyc.Approved {
					b.Fatalf("%v %v", d.Outcome, err)
				}
			}
		})
	}
}

// BenchmarkSubmitRefused is a Submit refused before any reservation: an
// already verified applicant (reason already_verified, not counted), the
// path concurrent replays take.
func BenchmarkSubmitRefused(b *testing.B) {
	for _, bs := range benchStores(b) {
		b.Run(bs.name, func(b *testing.B) {
			st := bs.open(b)
			h, err := kyctest.New(kyctest.Options{Store: st, Configure: func(c *kyc.Config) { c.SessionTTL = 24 * time.Hour }})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			a, err := h.AddPerson(kyctest.PersonSpec{NationalID: nids(1)[0]})
			if err != nil {
				b.Fatal(err)
			}
			if err := h.ConfirmOTP(ctx, a); err != nil {
				b.Fatal(err)
			}
			// Sessions first, then the approval that makes them stale.
			sessions := make([]string, 0, 64)
			for range cap(sessions) {
				s, err := h.Verifier.Begin(ctx, a)
				if err != nil {
					b.Fatal(err)
				}
				sessions = append(sessions, s.ID)
			}
			if d, err := h.Verifier.Submit(ctx, sessions[0], kyctest.LiveVideo(a.NationalID)); err != nil || d.Outcome != kyc.Approved {
				b.Fatal(d.Outcome, err)
			}
			video := videoBytes(b, kyctest.VideoSpec{Behaviour: kyctest.Live, Face: a.NationalID})
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				d, err := h.Verifier.Submit(ctx, sessions[1+i%(len(sessions)-1)], bytesReader(video))
				if err != nil || d.Counted || d.Outcome != kyc.Rejected {
					b.Fatalf("%+v %v", d, err)
				}
			}
		})
	}
}

// BenchmarkConfirmOTP is one wrong OTP guess (an attacker's cost per try,
// and the store's atomic try counter), with a fresh code every five tries.
func BenchmarkConfirmOTP(b *testing.B) {
	for _, bs := range benchStores(b) {
		b.Run(bs.name, func(b *testing.B) {
			h, err := kyctest.New(kyctest.Options{Store: bs.open(b), Configure: func(c *kyc.Config) { c.OTPMaxTries = 1 << 30 }})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			a, err := h.AddPerson(kyctest.PersonSpec{NationalID: nids(1)[0]})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := h.Verifier.SendOTP(ctx, a); err != nil {
				b.Fatal(err)
			}
			m, _ := registry.ParseMobile(a.Mobile)
			wrong := "000000"
			if h.OTP.LastCode(m) == wrong {
				wrong = "111111"
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := h.Verifier.ConfirmOTP(ctx, a.NationalID, wrong); !errors.Is(err, kyc.ErrOTPMismatch) {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyAuditChain verifies a 10,000-event hash chain in memory
// (kyc.VerifyAuditChain), what an auditor's check costs per event.
func BenchmarkVerifyAuditChain(b *testing.B) {
	const n = 10_000
	evs := make([]kyc.AuditEvent, n)
	var prev []byte
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range evs {
		evs[i] = kyc.AuditEvent{Time: t0.Add(time.Duration(i) * time.Second), Kind: kyc.AuditAttemptDecided,
			NationalID: "0499370899", SessionID: fmt.Sprintf("ses_%d", i), AttemptID: fmt.Sprintf("att_%d", i),
			Actor: "system", Data: []byte(`{"outcome":"approved","counted":false}`)}
		kyc.SealAudit(&evs[i], int64(i+1), prev)
		prev = evs[i].Hash
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := kyc.VerifyAuditChain(evs, nil, n, prev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/event")
}

// BenchmarkSubmitRegistryDown is a Submit while the civil registry hangs:
// with the circuit breaker open (fails fast, no request) and closed (each
// of the 3 attempts waits for its 200 ms timeout).
func BenchmarkSubmitRegistryDown(b *testing.B) {
	for _, open := range []bool{true, false} { // open first: the closed case is slow
		name := map[bool]string{true: "breaker_open", false: "breaker_closed"}[open]
		b.Run(name, func(b *testing.B) {
			threshold := 1
			if !open {
				threshold = 1 << 30
			}
			r := newRegistryRig(b, threshold, 0)
			ctx := context.Background()
			a := r.person(b)
			if err := r.h.ConfirmOTP(ctx, a); err != nil {
				b.Fatal(err)
			}
			s, err := r.h.Verifier.Begin(ctx, a)
			if err != nil {
				b.Fatal(err)
			}
			r.civil.InjectAlways(registrytest.Fault{Kind: registrytest.FaultHang})
			if open {
				_, _ = r.h.Verifier.Submit(ctx, s.ID, kyctest.LiveVideo(a.NationalID)) // opens the breaker
			}
			video := videoBytes(b, kyctest.VideoSpec{Behaviour: kyctest.Live, Face: a.NationalID})
			b.ReportAllocs()
			for b.Loop() {
				_, err := r.h.Verifier.Submit(ctx, s.ID, bytesReader(video))
				var re *registry.Error
				if !errors.As(err, &re) {
					b.Fatal(err)
				}
			}
		})
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
