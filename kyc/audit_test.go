package kyc

import (
	cryptoRand "crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func chain(n int) []AuditEvent {
	var evs []AuditEvent
	var prev []byte
	t0 := time.Date(2026, 11, 25, 6, 30, 0, 123456789, time.UTC)
	for i := 1; i <= n; i++ {
		ev := AuditEvent{Time: t0.Add(time.Duration(i) * time.Second), Kind: AuditInquiry, NationalID: "0499370899",
			Actor: "applicant", Data: []byte(`{"eligible":true}`)}
		SealAudit(&ev, int64(i), prev)
		prev = ev.Hash
		evs = append(evs, ev)
	}
	return evs
}

func TestAuditChainDetectsTampering(t *testing.T) {
	t.Parallel()
	evs := chain(5)
	require.NoError(t, VerifyAuditChain(evs, nil, 5, evs[4].Hash))
	assert.Equal(t, int64(0), evs[0].Time.UnixNano()%1000, "time truncated to microseconds")

	cases := map[string]struct {
		edit    func([]AuditEvent) []AuditEvent
		problem string
		seq     int64
	}{
		"edited data":    {func(e []AuditEvent) []AuditEvent { e[2].Data = []byte(`{"eligible":false}`); return e }, "hash", 3},
		"edited kind":    {func(e []AuditEvent) []AuditEvent { e[1].Kind = AuditOTPSent; return e }, "hash", 2},
		"edited time":    {func(e []AuditEvent) []AuditEvent { e[0].Time = e[0].Time.Add(time.Second); return e }, "hash", 1},
		"deleted middle": {func(e []AuditEvent) []AuditEvent { return append(e[:2:2], e[3:]...) }, "gap", 3},
		"deleted tail":   {func(e []AuditEvent) []AuditEvent { return e[:4] }, "head", 5},
		"re-sealed edit": {func(e []AuditEvent) []AuditEvent {
			e[2].Data = []byte(`{}`)
			SealAudit(&e[2], 3, e[1].Hash)
			return e
		}, "prev_hash", 4},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			evs := chain(5)
			head := evs[4].Hash
			err := VerifyAuditChain(c.edit(evs), nil, 5, head)
			require.ErrorIs(t, err, ErrAuditBroken)
			var ce *AuditChainError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, c.problem, ce.Problem)
			assert.Equal(t, c.seq, ce.Seq)
		})
	}
}

func TestErrorIsMatchesTemplates(t *testing.T) {
	t.Parallel()
	e := ErrVideoRejected.with(nil, "x")
	e.Reason = "low_light"
	assert.ErrorIs(t, e, ErrVideoRejected)
	assert.ErrorIs(t, e, &Error{Reason: "low_light"})
	assert.NotErrorIs(t, e, &Error{Reason: "no_face"})
	assert.NotErrorIs(t, e, ErrDependency)
	assert.Equal(t, "video unusable", ErrVideoRejected.Msg, "sentinel untouched")
	assert.Nil(t, ErrVideoRejected.Err)
}

func TestChallengeAndCodes(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		c, err := newChallenge(randReader{}, 3, 4)
		require.NoError(t, err)
		seen[c] = true
		code, err := newOTPCode(randReader{}, 6)
		require.NoError(t, err)
		assert.Regexp(t, `^[0-9]{6}$`, code)
	}
	assert.Greater(t, len(seen), 190, "challenges are random")
	words := map[string]bool{}
	for _, w := range challengeWords {
		assert.False(t, words[w], "duplicate word %s", w)
		words[w] = true
	}
	assert.Len(t, words, 64)
	assert.Equal(t, "۰۱۲۳۴۵۶۷۸۹", ToPersianDigits("0123456789"))
}

type randReader struct{}

func (randReader) Read(p []byte) (int, error) { return cryptoRand.Read(p) }
