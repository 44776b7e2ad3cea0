package memory_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/registry"
	"github.com/hoviyat/hoviyat/registry/memory"
	"github.com/hoviyat/hoviyat/registry/registrytest"
)

func load(t *testing.T, fx registrytest.Fixtures) *memory.Registry {
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

func TestConformance(t *testing.T) {
	t.Parallel()
	fx := registrytest.DefaultFixtures()
	reg := load(t, fx)
	require.NoError(t, registrytest.Run(t.Context(), reg, reg, fx))
}

func TestLookup(t *testing.T) {
	t.Parallel()
	fx := registrytest.DefaultFixtures()
	reg := load(t, fx)
	sara := fx.People[0]

	got, err := reg.Lookup(t.Context(), sara.NationalID, sara.BirthDate)
	require.NoError(t, err)
	assert.Equal(t, sara, got)

	// Unknown ID and wrong birth date are indistinguishable.
	_, errDate := reg.Lookup(t.Context(), sara.NationalID, registry.Date{Year: 1370, Month: 1, Day: 16})
	_, errID := reg.Lookup(t.Context(), "0790419904", sara.BirthDate)
	require.Error(t, errDate)
	require.Error(t, errID)
	assert.ErrorIs(t, errDate, registry.ErrNotFound)
	assert.NotErrorIs(t, errDate, registry.ErrUnavailable)
	assert.Equal(t, errID, errDate)
	assert.Equal(t, errID.Error(), errDate.Error())
	var re *registry.Error
	require.ErrorAs(t, errDate, &re)
	assert.Equal(t, registry.DepCivilRegistry, re.Dependency)
	assert.Equal(t, registry.KindNotFound, re.Kind)

	// Editing a returned error does not change the next one.
	re.Kind = registry.KindTimeout
	_, again := reg.Lookup(t.Context(), sara.NationalID, registry.Date{Year: 1370, Month: 1, Day: 16})
	assert.ErrorIs(t, again, registry.ErrNotFound)
}

func TestAddCopiesPhoto(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	p := registrytest.DefaultFixtures().People[0]
	orig := append([]byte(nil), p.Photo...)
	require.NoError(t, reg.Add(p))
	p.Photo[0] ^= 0xff // the caller reuses its buffer
	got, err := reg.Lookup(t.Context(), p.NationalID, p.BirthDate)
	require.NoError(t, err)
	assert.Equal(t, orig, got.Photo)
	got.Photo[1] ^= 0xff // and the caller edits what it got
	again, err := reg.Lookup(t.Context(), p.NationalID, p.BirthDate)
	require.NoError(t, err)
	assert.Equal(t, orig, again.Photo)
}

func TestAddReplaces(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	p := registrytest.DefaultFixtures().People[0]
	require.NoError(t, reg.Add(p))
	p.Alive = false
	require.NoError(t, reg.Add(p))
	assert.Equal(t, 1, reg.Len())
	got, err := reg.Lookup(t.Context(), p.NationalID, p.BirthDate)
	require.NoError(t, err)
	assert.False(t, got.Alive)
}

func TestAddRejects(t *testing.T) {
	t.Parallel()
	base := registrytest.DefaultFixtures().People[0]
	tests := []struct {
		name   string
		edit   func(*registry.Person)
		target error
	}{
		{"bad checksum", func(p *registry.Person) { p.NationalID = "0499370898" }, registry.ErrInvalidNationalID},
		{"not canonical", func(p *registry.Person) { p.NationalID = "68415941" }, registry.ErrInvalidNationalID},
		{"persian digits", func(p *registry.Person) { p.NationalID = "۰۴۹۹۳۷۰۸۹۹" }, registry.ErrInvalidNationalID},
		{"impossible date", func(p *registry.Person) { p.BirthDate = registry.Date{Year: 1400, Month: 12, Day: 30} }, nil},
		{"zero date", func(p *registry.Person) { p.BirthDate = registry.Date{} }, nil},
		{"gender", func(p *registry.Person) { p.Gender = "x" }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := memory.New()
			p := base
			tt.edit(&p)
			err := reg.Add(p)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "memory: ")
			if tt.target != nil {
				assert.ErrorIs(t, err, tt.target)
			}
			assert.Equal(t, 0, reg.Len())
		})
	}
	var de *registry.ErrInvalidDate
	p := base
	p.BirthDate = registry.Date{Year: 1400, Month: 12, Day: 30}
	assert.ErrorAs(t, memory.New().Add(p), &de)
}

func TestOwnership(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	const a, b registry.NationalID = "0499370899", "0790419904"
	const m registry.Mobile = "09121234567"
	ctx := t.Context()

	owns := func(id registry.NationalID) bool {
		ok, err := reg.Owns(ctx, id, m)
		require.NoError(t, err)
		return ok
	}
	assert.False(t, owns(a), "unregistered")
	require.NoError(t, reg.SetMobile(a, m))
	assert.True(t, owns(a))
	assert.False(t, owns(b))
	require.NoError(t, reg.SetMobile(b, m)) // the number changes hands
	assert.False(t, owns(a))
	assert.True(t, owns(b))
	reg.RemoveMobile(m)
	assert.False(t, owns(b))

	assert.ErrorIs(t, reg.SetMobile("0499370898", m), registry.ErrInvalidNationalID)
	assert.ErrorIs(t, reg.SetMobile(a, "9121234567"), registry.ErrInvalidMobile)
}

func TestContext(t *testing.T) {
	t.Parallel()
	fx := registrytest.DefaultFixtures()
	reg := load(t, fx)
	p := fx.People[0]

	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel2 := context.WithTimeout(t.Context(), -1)
	defer cancel2()
	tests := []struct {
		name string
		ctx  context.Context
		kind string
		want error
	}{
		{"cancelled", cancelled, registry.KindCanceled, context.Canceled},
		{"expired", expired, registry.KindTimeout, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		_, err := reg.Lookup(tt.ctx, p.NationalID, p.BirthDate)
		var re *registry.Error
		require.ErrorAs(t, err, &re, tt.name)
		assert.Equal(t, tt.kind, re.Kind)
		assert.Equal(t, registry.DepCivilRegistry, re.Dependency)
		assert.ErrorIs(t, err, tt.want)
		assert.ErrorIs(t, err, registry.ErrUnavailable)

		ok, err := reg.Owns(tt.ctx, p.NationalID, "09121234567")
		assert.False(t, ok)
		require.ErrorAs(t, err, &re, tt.name)
		assert.Equal(t, registry.DepMobileOwnership, re.Dependency)
		assert.ErrorIs(t, err, tt.want)
	}
}

// TestConcurrentWrites runs writers against readers; -race checks the
// locking, the assertions check that readers never see a torn record.
func TestConcurrentWrites(t *testing.T) {
	t.Parallel()
	fx := registrytest.DefaultFixtures()
	reg := load(t, fx)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				p := fx.People[(w+i)%len(fx.People)]
				p.FirstName = fmt.Sprintf("%s-%d", p.LastName, i)
				assert.NoError(t, reg.Add(p))
				assert.NoError(t, reg.SetMobile(p.NationalID, "09120000000"))
			}
		})
		wg.Go(func() {
			for i := range 200 {
				p := fx.People[(w+i)%len(fx.People)]
				got, err := reg.Lookup(t.Context(), p.NationalID, p.BirthDate)
				if assert.NoError(t, err) {
					assert.Equal(t, p.NationalID, got.NationalID)
					assert.Equal(t, p.Photo, got.Photo)
				}
				_, err = reg.Owns(t.Context(), p.NationalID, "09120000000")
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, len(fx.People), reg.Len())
}
