package httpreg

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/png"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/registry"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestBreakerStateMachine(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	b := newBreaker(3, 10*time.Second, clk.now)

	fail := func() {
		tk, ok := b.allow()
		require.True(t, ok)
		b.record(tk, resultFailure)
	}
	// Failures must be consecutive: a success resets the count.
	fail()
	fail()
	tk, ok := b.allow()
	require.True(t, ok)
	b.record(tk, resultSuccess)
	fail()
	fail()
	assert.Equal(t, BreakerClosed, b.current())
	// A neutral result neither counts nor resets.
	tk, _ = b.allow()
	b.record(tk, resultNeutral)
	assert.Equal(t, BreakerClosed, b.current())
	fail()
	assert.Equal(t, BreakerOpen, b.current())
	_, ok = b.allow()
	assert.False(t, ok)

	clk.add(10 * time.Second)
	assert.Equal(t, BreakerHalfOpen, b.current())
	probe, ok := b.allow()
	require.True(t, ok)
	assert.True(t, probe.probe)
	_, ok = b.allow()
	assert.False(t, ok, "a second probe while the first is in flight")

	// A neutral probe (caller cancelled) frees the slot without deciding.
	b.record(probe, resultNeutral)
	assert.Equal(t, BreakerHalfOpen, b.current())
	probe, ok = b.allow()
	require.True(t, ok)
	b.record(probe, resultSuccess)
	assert.Equal(t, BreakerClosed, b.current())
}

// TestBreakerIgnoresStaleResults: attempts that started before the breaker
// opened cannot close it (or count) when they finish later.
func TestBreakerIgnoresStaleResults(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	b := newBreaker(1, time.Second, clk.now)
	slow, ok := b.allow()
	require.True(t, ok)
	fast, ok := b.allow()
	require.True(t, ok)
	b.record(fast, resultFailure)
	assert.Equal(t, BreakerOpen, b.current())
	b.record(slow, resultSuccess) // stale
	assert.Equal(t, BreakerOpen, b.current())
}

func TestBackoffFullJitter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    int
		rand float64
		want time.Duration
	}{
		{1, 0.5, 50 * time.Millisecond},
		{2, 0.5, 100 * time.Millisecond},
		{3, 0.5, 200 * time.Millisecond},
		{4, 0.5, 400 * time.Millisecond},
		{5, 0.5, 500 * time.Millisecond}, // capped at BackoffMax = 1 s
		{80, 0.5, 500 * time.Millisecond},
		{3, 0, 0},
		{3, 0.999, 399600 * time.Microsecond},
	}
	for _, tt := range tests {
		c, err := New(Config{BaseURL: "http://x", Rand: func() float64 { return tt.rand }})
		require.NoError(t, err)
		assert.Equal(t, tt.want, c.backoff(tt.n), "n=%d rand=%v", tt.n, tt.rand)
	}
}

func jpegish() []byte { return []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00rest") }

func pngBytes(t testing.TB) []byte {
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, image.NewGray(image.Rect(0, 0, 2, 2))))
	return buf.Bytes()
}

func personJSON(edit func(map[string]any)) []byte {
	m := map[string]any{
		"national_id": "0499370899", "first_name": "سارا", "last_name": "احمدی", "father_name": "رضا",
		"gender": "female", "birth_date": "1370/01/15", "alive": true, "native": false,
		"photo": base64.StdEncoding.EncodeToString(jpegish()),
	}
	if edit != nil {
		edit(m)
	}
	b, _ := json.Marshal(m)
	return b
}

var (
	askID    registry.NationalID = "0499370899"
	askBirth                     = registry.Date{Year: 1370, Month: 1, Day: 15}
)

func TestDecodePerson(t *testing.T) {
	t.Parallel()
	p, err := decodePerson(personJSON(nil), askID, askBirth)
	require.NoError(t, err)
	assert.Equal(t, registry.Person{
		NationalID: askID, FirstName: "سارا", LastName: "احمدی", FatherName: "رضا",
		Gender: registry.Female, BirthDate: askBirth, Alive: true, Native: false, Photo: jpegish(),
	}, p)

	// A registry.Person marshalled by a server decodes to itself.
	want := p
	want.Photo = pngBytes(t)
	b, err := json.Marshal(want)
	require.NoError(t, err)
	got, err := decodePerson(b, askID, askBirth)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	ok := []struct {
		name string
		edit func(map[string]any)
	}{
		{"no photo", func(m map[string]any) { delete(m, "photo") }},
		{"empty photo", func(m map[string]any) { m["photo"] = "" }},
		{"no father name", func(m map[string]any) { delete(m, "father_name") }},
		{"persian digits in the date", func(m map[string]any) { m["birth_date"] = "۱۳۷۰/۰۱/۱۵" }},
	}
	for _, tt := range ok {
		_, err := decodePerson(personJSON(tt.edit), askID, askBirth)
		assert.NoError(t, err, tt.name)
	}

	bad := []struct {
		name string
		body []byte
		want string
	}{
		{"unknown field", personJSON(func(m map[string]any) { m["extra"] = 1 }), "unknown field"},
		{"wrong case", personJSON(func(m map[string]any) { m["Alive"] = m["alive"]; delete(m, "alive") }), "unknown field"},
		{"missing alive", personJSON(func(m map[string]any) { delete(m, "alive") }), `missing field "alive"`},
		{"missing gender", personJSON(func(m map[string]any) { delete(m, "gender") }), `missing field "gender"`},
		{"null native", personJSON(func(m map[string]any) { m["native"] = nil }), "null"},
		{"string bool", personJSON(func(m map[string]any) { m["alive"] = "true" }), "alive"},
		{"number name", personJSON(func(m map[string]any) { m["first_name"] = 7 }), "first_name"},
		{"bad gender", personJSON(func(m map[string]any) { m["gender"] = "F" }), "unknown gender"},
		{"impossible date", personJSON(func(m map[string]any) { m["birth_date"] = "1370/07/31" }), "birth_date"},
		{"other birth date", personJSON(func(m map[string]any) { m["birth_date"] = "1370/01/16" }), "another birth date"},
		{"other person", personJSON(func(m map[string]any) { m["national_id"] = "0790419904" }), "another national ID"},
		{"padded id", personJSON(func(m map[string]any) { m["national_id"] = "499370899" }), "another national ID"},
		{"bad base64", personJSON(func(m map[string]any) { m["photo"] = "%%%" }), "photo"},
		{"photo not an image", personJSON(func(m map[string]any) { m["photo"] = base64.StdEncoding.EncodeToString([]byte("<html>")) }), "want JPEG or PNG"},
		{"repeated key", []byte(strings.Replace(string(personJSON(nil)), `"alive":true`, `"alive":true,"alive":false`, 1)), "repeated field"},
		{"trailing data", append(personJSON(nil), []byte(" {}")...), "data after"},
		{"array", []byte(`[1]`), "want a JSON object"},
		{"truncated", personJSON(nil)[:40], ""},
		{"empty", nil, ""},
	}
	for _, tt := range bad {
		_, err := decodePerson(tt.body, askID, askBirth)
		if assert.Error(t, err, tt.name) {
			assert.Contains(t, err.Error(), tt.want, tt.name)
		}
	}
}

func TestDecodeOwnership(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		body    string
		want    bool
		wantErr bool
	}{
		{`{"owned":true}`, true, false},
		{` {"owned": false} `, false, false},
		{`{}`, false, true},
		{`{"owned":null}`, false, true},
		{`{"owned":1}`, false, true},
		{`{"owned":true,"owned":true}`, false, true},
		{`{"owned":true,"x":1}`, false, true},
		{`{"Owned":true}`, false, true},
		{`{"owned":true}x`, false, true},
	} {
		got, err := decodeOwnership([]byte(tt.body))
		if tt.wantErr {
			assert.Error(t, err, tt.body)
			continue
		}
		require.NoError(t, err, tt.body)
		assert.Equal(t, tt.want, got, tt.body)
	}
}

func TestDecodeError(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "not_found", decodeError([]byte(`{"error":"not_found"}`)))
	assert.Equal(t, "x", decodeError([]byte(`{"error":"x","message":"m"}`)))
	assert.Equal(t, "", decodeError([]byte(`{"message":"m"}`)))
	assert.Equal(t, "", decodeError([]byte(`404 page not found`)))
	assert.Equal(t, "", decodeError([]byte(`{"error":"not_found","detail":1}`)))
}

// FuzzDecodePerson: any body decodes without panic; what decodes is a
// consistent person that answers the question, and re-encoding it as a
// server would gives the same person back.
func FuzzDecodePerson(f *testing.F) {
	f.Add(personJSON(nil))
	f.Add(personJSON(func(m map[string]any) { delete(m, "photo"); delete(m, "father_name") }))
	f.Add(personJSON(func(m map[string]any) { m["birth_date"] = "۱۳۷۰/۰۱/۱۵" }))
	f.Add([]byte(`{"national_id":"0499370899","alive":true,"alive":false}`))
	f.Add([]byte(`{"national_id": "04993`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodePerson(body, askID, askBirth)
		if err != nil {
			if p.NationalID != "" || p.Photo != nil {
				t.Fatalf("partial person %+v with error %v", p, err)
			}
			return
		}
		if p.NationalID != askID || p.BirthDate != askBirth || (p.Gender != registry.Male && p.Gender != registry.Female) {
			t.Fatalf("inconsistent person %+v", p)
		}
		again, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := decodePerson(again, askID, askBirth)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", again, err)
		}
		if q.FirstName != p.FirstName || q.LastName != p.LastName || q.FatherName != p.FatherName ||
			q.Alive != p.Alive || q.Native != p.Native || !bytes.Equal(q.Photo, p.Photo) {
			t.Fatalf("round trip changed %+v into %+v", p, q)
		}
	})
}

// FuzzDecodeOwnership: no panic; success only for exactly one boolean.
func FuzzDecodeOwnership(f *testing.F) {
	for _, s := range []string{`{"owned":true}`, `{"owned":false}`, `{"owned":null}`, `{}`, `{"owned":true,"owned":false}`, `[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		owned, err := decodeOwnership(body)
		if err != nil {
			return
		}
		var m map[string]any
		if json.Unmarshal(body, &m) != nil || len(m) != 1 || m["owned"] != owned {
			t.Fatalf("accepted %q as owned=%v", body, owned)
		}
		if decodeError(body) != "" {
			t.Fatalf("an ownership body is also an error body: %q", body)
		}
	})
}
