// Package storetest is the conformance suite for kyc.Store
// implementations, in the manner of testing/fstest: a Store author calls
//
//	if err := storetest.Run(ctx, st); err != nil {
//		t.Fatal(err)
//	}
//
// from a test. Run exercises every method against the contract in
// kyc/store.go, including the concurrency invariants (200 goroutines
// reserving for one national ID), and returns one error listing every
// failed check. It uses fresh random national, session and attempt IDs,
// so it can run against a store holding other data, but it appends to the
// audit log and expects the whole log to verify.
//
// Hammer and CheckNationalID are the building blocks of the concurrency
// check, exported so that a backend can run them from several OS
// processes against one database; CheckAuditTamper proves that edits and
// deletions made behind the store's back are detected.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"strings"
	"time"

	"github.com/hoviyat/hoviyat/kyc"
)

// Run checks st against the kyc.Store contract and returns an error
// listing the failed checks, or nil. It takes a few seconds on an SQL
// store. ctx bounds the whole run.
func Run(ctx context.Context, st kyc.Store) error {
	r := &runner{st: st, run: randomTag()}
	for _, c := range checks {
		r.check(ctx, c.name, c.fn)
	}
	// The whole log, written concurrently by the checks above, must chain.
	r.check(ctx, "audit_chain", func(ctx context.Context, c *checker) {
		c.auditChainValid(ctx)
	})
	if len(r.failures) == 0 {
		return nil
	}
	return fmt.Errorf("storetest: %d failure(s):\n  %s", len(r.failures), strings.Join(r.failures, "\n  "))
}

var checks = []struct {
	name string
	fn   func(context.Context, *checker)
}{
	{"applicant_absent", checkApplicantAbsent},
	{"session_roundtrip", checkSessionRoundtrip},
	{"reserve_session_rules", checkReserveSessionRules},
	{"reserve_same_session_concurrently", checkSameSessionConcurrently},
	{"approve_once", checkApproveOnce},
	{"failures_lock", checkFailuresLock},
	{"lease_takeover", checkLeaseTakeover},
	{"release", checkRelease},
	{"charge_pending_with_reservation", checkChargePending},
	{"charge_confirm", checkChargeConfirm},
	{"charge_carry_over", checkChargeCarryOver},
	{"review", checkReview},
	{"review_reject_locks", checkReviewRejectLocks},
	{"attempts_listing", checkAttemptsListing},
	{"otp", checkOTP},
	{"otp_concurrent_tries", checkOTPConcurrent},
	{"audit", checkAudit},
	{"audit_concurrent", checkAuditConcurrent},
	{"representative_docs", checkRepresentativeDocs},
	{"concurrent_one_national_id", checkHammer},
}

type runner struct {
	st       kyc.Store
	run      string
	failures []string
}

// checker is the state of one check (one goroutine drives it; the store
// calls it makes may be concurrent). Its methods record failures; Fatalf ends
// the check.
type checker struct {
	name     string
	st       kyc.Store
	run      string
	n        int
	base     time.Time
	failures []string
}

type fatal struct{}

func (r *runner) check(ctx context.Context, name string, fn func(context.Context, *checker)) {
	c := &checker{name: name, st: r.st, run: r.run, base: time.Now().UTC().Truncate(time.Second)}
	func() {
		defer func() {
			if p := recover(); p != nil {
				if _, ok := p.(fatal); !ok {
					c.failures = append(c.failures, fmt.Sprintf("panic: %v\n%s", p, debug.Stack()))
				}
			}
		}()
		fn(ctx, c)
	}()
	for _, f := range c.failures {
		r.failures = append(r.failures, name+": "+f)
	}
}

// Errorf records a failure.
func (c *checker) Errorf(format string, args ...any) {
	c.failures = append(c.failures, fmt.Sprintf(format, args...))
}

// Fatalf records a failure and ends the check.
func (c *checker) Fatalf(format string, args ...any) {
	c.Errorf(format, args...)
	panic(fatal{})
}

// must ends the check when err is not nil.
func (c *checker) must(err error, what string) {
	if err != nil {
		c.Fatalf("%s: unexpected error: %v", what, err)
	}
}

// is records a failure unless errors.Is(err, want).
func (c *checker) is(err error, want error, what string) bool {
	if !errors.Is(err, want) {
		c.Errorf("%s: got error %v, want %v", what, err, want)
		return false
	}
	return true
}

func (c *checker) eq(got, want any, what string) {
	if fmt.Sprint(got) != fmt.Sprint(want) {
		c.Errorf("%s: got %v, want %v", what, got, want)
	}
}

// id returns a fresh identifier unique to this run and check.
func (c *checker) id(kind string) string {
	c.n++
	return fmt.Sprintf("st-%s-%s-%s-%d", c.run, c.name, kind, c.n)
}

// at returns the check's base time plus d.
func (c *checker) at(d time.Duration) time.Time { return c.base.Add(d) }

// NationalID returns a random, checksum-valid national ID.
func NationalID() string {
	for {
		var d [10]int
		for i := range 9 {
			d[i] = rand.IntN(10)
		}
		s := 0
		for i := range 9 {
			s += d[i] * (10 - i)
		}
		if r := s % 11; r < 2 {
			d[9] = r
		} else {
			d[9] = 11 - r
		}
		if d[3]+d[4]+d[5]+d[6]+d[7]+d[8] == 0 {
			continue
		}
		var b strings.Builder
		same := true
		for i, v := range d {
			b.WriteByte(byte('0' + v))
			same = same && v == d[0]
			_ = i
		}
		if !same {
			return b.String()
		}
	}
}

func randomTag() string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 8)
	for i := range b {
		b[i] = letters[rand.IntN(len(letters))]
	}
	return string(b)
}

// session creates a session for nid valid from the base time for an hour.
func (c *checker) session(ctx context.Context, nid string) string {
	id := c.id("s")
	c.must(c.st.CreateSession(ctx, kyc.SessionRecord{
		ID: id, NationalID: nid, Challenge: "سلام", Nonce: "n-" + id, BirthDate: "1370/01/15",
		Mobile: "09121234567", CreatedAt: c.at(0), ExpiresAt: c.at(time.Hour),
	}), "CreateSession")
	return id
}

// reserve reserves an attempt on a fresh session at base+now with a
// one-minute lease.
func (c *checker) reserve(ctx context.Context, nid string, now time.Duration, maxAttempts int) (kyc.AttemptRecord, error) {
	return c.st.ReserveAttempt(ctx, kyc.Reservation{
		AttemptID: c.id("a"), SessionID: c.session(ctx, nid), NationalID: nid, MaxAttempts: maxAttempts,
		Now: c.at(now), LeaseUntil: c.at(now + time.Minute),
		Event: kyc.AuditEvent{Kind: kyc.AuditAttemptReserved, Actor: "applicant", Time: c.at(now)},
	})
}

// reserveWith reserves like reserve (MaxAttempts 3) with a pending charge.
func (c *checker) reserveWith(ctx context.Context, nid string, now time.Duration, ch *kyc.ChargeRecord) (kyc.AttemptRecord, error) {
	return c.st.ReserveAttempt(ctx, kyc.Reservation{
		AttemptID: c.id("a"), SessionID: c.session(ctx, nid), NationalID: nid, MaxAttempts: 3,
		Now: c.at(now), LeaseUntil: c.at(now + time.Minute), Charge: ch,
		Event: kyc.AuditEvent{Kind: kyc.AuditAttemptReserved, Actor: "applicant", Time: c.at(now)},
	})
}

func (c *checker) finish(ctx context.Context, a kyc.AttemptRecord, o kyc.Outcome, counted bool, now time.Duration, maxAttempts int) (kyc.ApplicantRecord, error) {
	return c.st.FinishAttempt(ctx, kyc.Finish{
		AttemptID: a.ID, NationalID: a.NationalID, Outcome: o, Counted: counted, MaxAttempts: maxAttempts,
		Reasons: reasonsFor(o), EvidenceID: "ev-" + a.ID, Decision: []byte(`{"outcome":"` + string(o) + `"}`),
		Now:   c.at(now),
		Event: kyc.AuditEvent{Kind: kyc.AuditAttemptDecided, Actor: "system", Time: c.at(now), Data: []byte(`{"outcome":"` + string(o) + `"}`)},
	})
}

func (c *checker) applicant(ctx context.Context, nid string) kyc.ApplicantRecord {
	a, err := c.st.Applicant(ctx, nid)
	c.must(err, "Applicant")
	return a
}

func (c *checker) attempt(ctx context.Context, id string) kyc.AttemptRecord {
	a, err := c.st.Attempt(ctx, id)
	c.must(err, "Attempt")
	return a
}

// auditChainValid verifies the whole audit log against the store's head.
func (c *checker) auditChainValid(ctx context.Context) []kyc.AuditEvent {
	evs, err := AllAudit(ctx, c.st)
	c.must(err, "Audit")
	seq, hash, err := c.st.AuditHead(ctx)
	c.must(err, "AuditHead")
	if err := kyc.VerifyAuditChain(evs, nil, seq, hash); err != nil {
		c.Errorf("audit chain of %d events (head %d): %v", len(evs), seq, err)
	}
	return evs
}

// AllAudit reads the whole audit log in pages of 1000.
func AllAudit(ctx context.Context, st kyc.Store) ([]kyc.AuditEvent, error) {
	var out []kyc.AuditEvent
	var after int64
	for {
		page, err := st.Audit(ctx, after, 1000)
		if err != nil {
			return out, err
		}
		out = append(out, page...)
		if len(page) < 1000 {
			return out, nil
		}
		after = page[len(page)-1].Seq
	}
}

// VerifyAudit checks the whole audit log of st against its head.
func VerifyAudit(ctx context.Context, st kyc.Store) error {
	evs, err := AllAudit(ctx, st)
	if err != nil {
		return err
	}
	seq, hash, err := st.AuditHead(ctx)
	if err != nil {
		return err
	}
	return kyc.VerifyAuditChain(evs, nil, seq, hash)
}
