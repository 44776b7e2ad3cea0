package policy_test

import (
	"testing"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/policy"
	"github.com/hoviyat/hoviyat/reason"
	"github.com/hoviyat/hoviyat/registry"
)

var (
	sinkVerdict   policy.Verdict
	sinkJudgement policy.Judgement
	sinkAge       int
)

func BenchmarkEvaluate(b *testing.B) {
	p := mustNew(b, policy.Config{})
	now := noonIn(b, 1403, 6, 1)
	refused := eligible(b)
	refused.Person.Alive, refused.Person.Native = false, false
	refused.Representative = policy.Attorney
	refused.Verified, refused.Locked, refused.FailedAttempts = true, true, 3
	refused.Country, refused.MobileOwned, refused.OTPConfirmed = "DE", false, false
	for _, bc := range []struct {
		name string
		f    policy.Facts
	}{
		{"eligible", eligible(b)},
		{"refused_many_reasons", refused},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkVerdict = p.EvaluateAt(bc.f, now)
			}
		})
	}
	b.Run("eligible_clock", func(b *testing.B) {
		f := eligible(b)
		b.ReportAllocs()
		for b.Loop() {
			sinkVerdict = p.Evaluate(f)
		}
	})
}

func BenchmarkDecide(b *testing.B) {
	p := mustNew(b, policy.Config{})
	match := &facematch.Score{Decision: facematch.Match}
	nonMatch := &facematch.Score{Decision: facematch.NonMatch}
	for _, bc := range []struct {
		name string
		e    policy.Evidence
	}{
		{"approved", policy.Evidence{Liveness: liveness.Result{Verdict: liveness.Live}, Match: match}},
		{"review", policy.Evidence{Liveness: liveness.Result{Verdict: liveness.Uncertain}}},
		{"quality_rejected", policy.Evidence{Liveness: liveness.Result{Verdict: liveness.NotJudged, Quality: []reason.Code{reason.LowLight, reason.CameraShake}}}},
		{"locked", policy.Evidence{Liveness: liveness.Result{Verdict: liveness.Live}, Match: nonMatch, FailedBefore: 2}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkJudgement = p.Decide(bc.e)
			}
		})
	}
}

func BenchmarkAge(b *testing.B) {
	birth := registry.Date{Year: 1383, Month: 12, Day: 30}
	today := registry.Date{Year: 1402, Month: 1, Day: 1}
	b.ReportAllocs()
	for b.Loop() {
		sinkAge, _ = policy.Age(birth, today)
	}
}
