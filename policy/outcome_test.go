package policy_test

import (
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/policy"
)

var (
	_ sql.Scanner      = (*policy.Outcome)(nil)
	_ driver.Valuer    = policy.Outcome("")
	_ json.Marshaler   = policy.Outcome("")
	_ json.Unmarshaler = (*policy.Outcome)(nil)
)

var allOutcomes = []policy.Outcome{policy.Approved, policy.Rejected, policy.Review, policy.Locked}

func TestOutcomeRoundTrip(t *testing.T) {
	t.Parallel()
	for _, o := range allOutcomes {
		t.Run(string(o), func(t *testing.T) {
			t.Parallel()
			assert.True(t, o.Valid())
			assert.Equal(t, string(o), o.String())
			got, err := policy.ParseOutcome(string(o))
			require.NoError(t, err)
			assert.Equal(t, o, got)

			v, err := o.Value()
			require.NoError(t, err)
			assert.Equal(t, string(o), v)
			var s1, s2 policy.Outcome
			require.NoError(t, s1.Scan(v))
			require.NoError(t, s2.Scan([]byte(string(o))))
			assert.Equal(t, o, s1)
			assert.Equal(t, o, s2)

			b, err := json.Marshal(struct {
				O policy.Outcome `json:"o"`
			}{o})
			require.NoError(t, err)
			assert.JSONEq(t, `{"o":"`+string(o)+`"}`, string(b))
			var back struct {
				O policy.Outcome `json:"o"`
			}
			require.NoError(t, json.Unmarshal(b, &back))
			assert.Equal(t, o, back.O)
		})
	}
}

func TestOutcomeUnknown(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "APPROVED", "approved ", "accepted", "pending"} {
		t.Run(s, func(t *testing.T) {
			t.Parallel()
			o := policy.Outcome(s)
			assert.False(t, o.Valid())
			_, err := policy.ParseOutcome(s)
			assert.ErrorIs(t, err, policy.ErrUnknownOutcome)
			_, err = o.Value()
			assert.ErrorIs(t, err, policy.ErrUnknownOutcome)
			_, err = json.Marshal(o)
			assert.ErrorIs(t, err, policy.ErrUnknownOutcome)

			dst := policy.Review
			assert.ErrorIs(t, dst.Scan(s), policy.ErrUnknownOutcome)
			assert.Equal(t, policy.Review, dst, "a failed Scan leaves the value alone")
			b, _ := json.Marshal(s)
			assert.ErrorIs(t, json.Unmarshal(b, &dst), policy.ErrUnknownOutcome)
			assert.Equal(t, policy.Review, dst)
		})
	}
	var o policy.Outcome
	assert.ErrorIs(t, o.Scan(nil), policy.ErrUnknownOutcome)
	assert.Error(t, o.Scan(int64(1)))
	assert.Error(t, json.Unmarshal([]byte(`1`), &o))
	assert.Error(t, json.Unmarshal([]byte(`null`), &o), "null is not an outcome")
	assert.Equal(t, policy.Outcome(""), o)
}
