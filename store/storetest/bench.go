package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hoviyat/hoviyat/kyc"
)

// BenchReserveFinish measures one ReserveAttempt plus one FinishAttempt
// (each with its audit event), sequentially, each op on a new national
// ID. Sessions are created before the timer starts. Besides ns/op it
// reports ms/step, the mean time of one of the two store steps.
func BenchReserveFinish(b *testing.B, st kyc.Store) {
	ctx := context.Background()
	run := randomTag()
	now := time.Now().UTC().Truncate(time.Microsecond)
	nids := make([]string, b.N)
	for i := range b.N {
		nids[i] = NationalID()
		if err := st.CreateSession(ctx, kyc.SessionRecord{ID: fmt.Sprintf("b-%s-s%d", run, i), NationalID: nids[i],
			Challenge: "c", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprintf("b-%s-a%d", run, i)
		if _, err := st.ReserveAttempt(ctx, kyc.Reservation{AttemptID: id, SessionID: fmt.Sprintf("b-%s-s%d", run, i),
			NationalID: nids[i], MaxAttempts: 3, Now: now, LeaseUntil: now.Add(time.Minute),
			Event: kyc.AuditEvent{Kind: kyc.AuditAttemptReserved, Actor: "applicant", Time: now}}); err != nil {
			b.Fatal(err)
		}
		outcome, counted := kyc.Approved, false
		if i%2 == 1 {
			outcome, counted = kyc.Rejected, true
		}
		if _, err := st.FinishAttempt(ctx, kyc.Finish{AttemptID: id, NationalID: nids[i], Outcome: outcome, Counted: counted,
			Reasons: reasonsFor(outcome), MaxAttempts: 3, Now: now, Decision: []byte(`{"outcome":"x"}`),
			Event: kyc.AuditEvent{Kind: kyc.AuditAttemptDecided, Actor: "system", Time: now}}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/2/1e6, "ms/step")
}
