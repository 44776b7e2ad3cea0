package registrytest_test

import (
	"bytes"
	"context"
	"errors"
	"image/jpeg"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/registry"
	"github.com/hoviyat/hoviyat/registry/memory"
	"github.com/hoviyat/hoviyat/registry/registrytest"
)

func loaded(t *testing.T, fx registrytest.Fixtures) *memory.Registry {
	t.Helper()
	reg := memory.New()
	for _, p := range fx.People {
		require.NoError(t, reg.Add(p))
	}
	for m, id := range fx.Mobiles {
		require.NoError(t, reg.SetMobile(id, m))
	}
	return reg
}

// broken wraps a correct adapter and breaks one behaviour.
type broken struct {
	reg    *memory.Registry
	fx     registrytest.Fixtures
	lookup func(b *broken, ctx context.Context, id registry.NationalID, birth registry.Date) (registry.Person, error)
	owns   func(b *broken, ctx context.Context, id registry.NationalID, m registry.Mobile) (bool, error)
}

func (b *broken) Lookup(ctx context.Context, id registry.NationalID, birth registry.Date) (registry.Person, error) {
	if b.lookup != nil {
		return b.lookup(b, ctx, id, birth)
	}
	return b.reg.Lookup(ctx, id, birth)
}

func (b *broken) Owns(ctx context.Context, id registry.NationalID, m registry.Mobile) (bool, error) {
	if b.owns != nil {
		return b.owns(b, ctx, id, m)
	}
	return b.reg.Owns(ctx, id, m)
}

func find(fx registrytest.Fixtures, id registry.NationalID) (registry.Person, bool) {
	for _, p := range fx.People {
		if p.NationalID == id {
			return p, true
		}
	}
	return registry.Person{}, false
}

// TestRunCatchesBrokenAdapters proves each check can fail: every broken
// adapter is reported, with a message naming what is wrong.
func TestRunCatchesBrokenAdapters(t *testing.T) {
	t.Parallel()
	type lookupFn = func(*broken, context.Context, registry.NationalID, registry.Date) (registry.Person, error)
	type ownsFn = func(*broken, context.Context, registry.NationalID, registry.Mobile) (bool, error)
	tests := []struct {
		name   string
		lookup lookupFn
		owns   ownsFn
		want   []string
	}{
		{"ignores the birth date", func(b *broken, ctx context.Context, id registry.NationalID, _ registry.Date) (registry.Person, error) {
			if p, ok := find(b.fx, id); ok {
				return p, nil
			}
			return registry.Person{}, registry.ErrNotFound
		}, nil, []string{"with the day after the birth date: found", "with the birth year minus one: found"}},
		{"shares the stored photo", func(b *broken, ctx context.Context, id registry.NationalID, birth registry.Date) (registry.Person, error) {
			for i := range b.fx.People { // returns the fixture's own slice
				if p := b.fx.People[i]; p.NationalID == id && p.BirthDate == birth {
					return p, nil
				}
			}
			return registry.Person{}, registry.ErrNotFound
		}, nil, []string{"changing a returned photo changed the stored one"}},
		{"reports not found as unavailable", func(b *broken, ctx context.Context, id registry.NationalID, birth registry.Date) (registry.Person, error) {
			p, err := b.reg.Lookup(ctx, id, birth)
			if errors.Is(err, registry.ErrNotFound) {
				return p, registry.ErrUnavailable
			}
			return p, err
		}, nil, []string{"does not match registry.ErrNotFound"}},
		{"not found also unavailable", func(b *broken, ctx context.Context, id registry.NationalID, birth registry.Date) (registry.Person, error) {
			p, err := b.reg.Lookup(ctx, id, birth)
			if errors.Is(err, registry.ErrNotFound) {
				return p, errors.Join(registry.ErrNotFound, registry.ErrUnavailable)
			}
			return p, err
		}, nil, []string{"also matches ErrUnavailable"}},
		{"drops a field", func(b *broken, ctx context.Context, id registry.NationalID, birth registry.Date) (registry.Person, error) {
			p, err := b.reg.Lookup(ctx, id, birth)
			p.FatherName = ""
			return p, err
		}, nil, []string{"FatherName = , want رضا", "concurrent: Lookup"}},
		{"ignores ctx", func(b *broken, _ context.Context, id registry.NationalID, birth registry.Date) (registry.Person, error) {
			return b.reg.Lookup(context.Background(), id, birth)
		}, func(b *broken, _ context.Context, id registry.NationalID, m registry.Mobile) (bool, error) {
			return b.reg.Owns(context.Background(), id, m)
		}, []string{"Lookup with a cancelled ctx: nil error", "Lookup with an expired ctx: nil error", "Owns with a cancelled ctx: nil error", "returned a person", "returned true"}},
		{"cancellation is not unavailable", func(b *broken, ctx context.Context, id registry.NationalID, birth registry.Date) (registry.Person, error) {
			if err := ctx.Err(); err != nil {
				return registry.Person{}, err
			}
			return b.reg.Lookup(ctx, id, birth)
		}, nil, []string{"Lookup with a cancelled ctx: error context canceled does not match registry.ErrUnavailable"}},
		{"names the wrong dependency", func(b *broken, ctx context.Context, id registry.NationalID, birth registry.Date) (registry.Person, error) {
			p, err := b.reg.Lookup(ctx, id, birth)
			var re *registry.Error
			if errors.As(err, &re) {
				return p, &registry.Error{Dependency: registry.DepMobileOwnership, Kind: re.Kind, Err: re.Err}
			}
			return p, err
		}, nil, []string{`names dependency "mobile_ownership", want "civil_registry"`}},
		{"owns everything", nil, func(b *broken, ctx context.Context, id registry.NationalID, m registry.Mobile) (bool, error) {
			return true, ctx.Err()
		}, []string{"= true, want false"}},
		{"owns nothing", nil, func(b *broken, ctx context.Context, id registry.NationalID, m registry.Mobile) (bool, error) {
			_, err := b.reg.Owns(ctx, id, m)
			return false, err
		}, []string{"= false, want true", "concurrent: Owns"}},
		{"ownership errors", nil, func(b *broken, ctx context.Context, id registry.NationalID, m registry.Mobile) (bool, error) {
			return false, &registry.Error{Dependency: registry.DepMobileOwnership, Kind: registry.KindStatus, Status: 502}
		}, []string{"unexpected error: registry: mobile_ownership: status (HTTP 502)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := registrytest.DefaultFixtures()
			b := &broken{reg: loaded(t, fx), fx: fx.Clone(), lookup: tt.lookup, owns: tt.owns}
			err := registrytest.Run(t.Context(), b, b, fx)
			require.Error(t, err)
			var se *registrytest.SuiteError
			require.ErrorAs(t, err, &se)
			assert.NotEmpty(t, se.Failures)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Contains(t, err.Error(), "registrytest: ")
		})
	}
}

func TestRunOneAdapter(t *testing.T) {
	t.Parallel()
	fx := registrytest.DefaultFixtures()
	reg := loaded(t, fx)
	assert.NoError(t, registrytest.Run(t.Context(), reg, nil, fx))
	assert.NoError(t, registrytest.Run(t.Context(), nil, reg, fx))
	assert.Error(t, registrytest.Run(t.Context(), nil, nil, fx))

	// A civil registry missing a fixture person fails, naming the call.
	fx2 := fx.Clone()
	fx2.People = append(fx2.People, registry.Person{NationalID: "1234567891", Gender: registry.Male,
		BirthDate: registry.Date{Year: 1360, Month: 2, Day: 2}})
	require.True(t, registry.NationalID("1234567891").Valid())
	err := registrytest.Run(t.Context(), reg, nil, fx2)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Lookup(123****891, 1360/02/02): unexpected error")
}

func TestRunRejectsInvalidFixtures(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	tests := []struct {
		name string
		edit func(*registrytest.Fixtures)
		want string
	}{
		{"bad id", func(fx *registrytest.Fixtures) { fx.People[0].NationalID = "68415941" }, "not canonical"},
		{"duplicate", func(fx *registrytest.Fixtures) { fx.People[1].NationalID = fx.People[0].NationalID }, "duplicate"},
		{"bad date", func(fx *registrytest.Fixtures) { fx.People[0].BirthDate.Month = 13 }, "month must be 1..12"},
		{"bad gender", func(fx *registrytest.Fixtures) { fx.People[0].Gender = "" }, "unknown gender"},
		{"bad mobile", func(fx *registrytest.Fixtures) { fx.Mobiles["9121111111"] = "0499370899" }, "not canonical"},
		{"bad owner", func(fx *registrytest.Fixtures) { fx.Mobiles["09121111111"] = "1" }, "not canonical"},
	}
	for _, tt := range tests {
		fx := registrytest.DefaultFixtures()
		tt.edit(&fx)
		err := registrytest.Run(t.Context(), reg, reg, fx)
		require.Error(t, err, tt.name)
		assert.Contains(t, err.Error(), "registrytest: invalid fixtures")
		assert.Contains(t, err.Error(), tt.want, tt.name)
	}
}

func TestDefaultFixtures(t *testing.T) {
	t.Parallel()
	fx := registrytest.DefaultFixtures()
	require.NoError(t, fx.Validate())
	assert.Len(t, fx.People, 5)
	var leap, deceased, foreign, noPhoto bool
	for _, p := range fx.People {
		leap = leap || (p.BirthDate.Month == 12 && p.BirthDate.Day == 30)
		deceased = deceased || !p.Alive
		foreign = foreign || !p.Native
		noPhoto = noPhoto || len(p.Photo) == 0
		if len(p.Photo) > 0 {
			_, err := jpeg.Decode(bytes.NewReader(p.Photo))
			assert.NoError(t, err)
		}
	}
	assert.True(t, leap && deceased && foreign && noPhoto)

	// Fresh values each call, and Clone is deep.
	fx.People[0].Photo[0] ^= 0xff
	fx.Mobiles["09120000000"] = "0499370899"
	again := registrytest.DefaultFixtures()
	assert.NotEqual(t, fx.People[0].Photo[0], again.People[0].Photo[0])
	assert.NotContains(t, again.Mobiles, registry.Mobile("09120000000"))
	c := again.Clone()
	c.People[0].Photo[0] ^= 0xff
	c.People[0].FirstName = "x"
	assert.NotEqual(t, c.People[0].Photo[0], again.People[0].Photo[0])
	assert.NotEqual(t, "x", again.People[0].FirstName)

	assert.Equal(t, registrytest.Photo(4), registrytest.Photo(4))
	assert.NotEqual(t, registrytest.Photo(4), registrytest.Photo(5))
}

func TestWithCheckDigit(t *testing.T) {
	t.Parallel()
	for _, id := range []registry.NationalID{"0499370899", "0790419904", "1583250689", "0013542419", "0499370090"} {
		assert.Equal(t, id, registrytest.WithCheckDigit(string(id[:9])))
	}
	assert.Equal(t, registry.NationalID("12"), registrytest.WithCheckDigit("12"))
}
