package kyc_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/hoviyat/hoviyat/kyc"
)

func TestReservationCheckCharge(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	pending := func(edit func(*kyc.ChargeRecord)) *kyc.ChargeRecord {
		c := &kyc.ChargeRecord{ID: "chg_1", Amount: 250_000, Currency: "IRR", CreatedAt: now}
		if edit != nil {
			edit(c)
		}
		return c
	}
	for name, tc := range map[string]struct {
		charge *kyc.ChargeRecord
		ok     bool
	}{
		"no fee":            {nil, true},
		"pending":           {pending(nil), true},
		"own IDs":           {pending(func(c *kyc.ChargeRecord) { c.NationalID, c.AttemptID = "0499370899", "att_1" }), true},
		"no ID":             {pending(func(c *kyc.ChargeRecord) { c.ID = "" }), false},
		"no CreatedAt":      {pending(func(c *kyc.ChargeRecord) { c.CreatedAt = time.Time{} }), false},
		"negative amount":   {pending(func(c *kyc.ChargeRecord) { c.Amount = -1 }), false},
		"already confirmed": {pending(func(c *kyc.ChargeRecord) { c.Ref, c.ConfirmedAt = "ref", now }), false},
		"confirmed time":    {pending(func(c *kyc.ChargeRecord) { c.ConfirmedAt = now }), false},
		"other national ID": {pending(func(c *kyc.ChargeRecord) { c.NationalID = "0790419904" }), false},
		"other attempt":     {pending(func(c *kyc.ChargeRecord) { c.AttemptID = "att_2" }), false},
	} {
		r := kyc.Reservation{AttemptID: "att_1", NationalID: "0499370899", Charge: tc.charge}
		err := r.CheckCharge()
		if tc.ok {
			assert.NoError(t, err, name)
			continue
		}
		assert.ErrorIs(t, err, kyc.ErrInvalidInput, name)
	}
}
