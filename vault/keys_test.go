package vault_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/vault"
)

func TestParseKeyRing(t *testing.T) {
	t.Parallel()
	k1, k2 := rawKey(1), rawKey(2)
	tests := []struct {
		name    string
		spec    string
		active  string
		ids     []string
		wantErr bool
	}{
		{name: "single key is active", spec: "k1:" + b64(k1), active: "k1", ids: []string{"k1"}},
		{name: "two keys, active named", spec: "k1:" + b64(k1) + ",k2:" + b64(k2) + ",active=k2", active: "k2", ids: []string{"k1", "k2"}},
		{name: "active first, spaces and newlines", spec: " active=k1 ,\n k1 : " + b64(k1) + " ,\n\tk2:" + b64(k2), active: "k1", ids: []string{"k1", "k2"}},
		{name: "raw std base64", spec: "k1:" + base64.RawStdEncoding.EncodeToString(k1), active: "k1", ids: []string{"k1"}},
		{name: "url base64", spec: "2025-07_a.b:" + base64.URLEncoding.EncodeToString(k1), active: "2025-07_a.b", ids: []string{"2025-07_a.b"}},
		{name: "raw url base64", spec: "k1:" + base64.RawURLEncoding.EncodeToString(k1), active: "k1", ids: []string{"k1"}},
		{name: "empty", spec: "", wantErr: true},
		{name: "blank", spec: "  ", wantErr: true},
		{name: "empty entry", spec: "k1:" + b64(k1) + ",,k2:" + b64(k2) + ",active=k1", wantErr: true},
		{name: "two keys, no active", spec: "k1:" + b64(k1) + ",k2:" + b64(k2), wantErr: true},
		{name: "active not in ring", spec: "k1:" + b64(k1) + ",active=k9", wantErr: true},
		{name: "active twice", spec: "k1:" + b64(k1) + ",active=k1,active=k1", wantErr: true},
		{name: "short key", spec: "k1:" + b64(k1[:16]), wantErr: true},
		{name: "long key", spec: "k1:" + b64(append(bytes.Clone(k1), 0)), wantErr: true},
		{name: "not base64", spec: "k1:%%%notbase64%%%", wantErr: true},
		{name: "missing colon", spec: b64(k1), wantErr: true},
		{name: "duplicate id", spec: "k1:" + b64(k1) + ",k1:" + b64(k2) + ",active=k1", wantErr: true},
		{name: "identical keys", spec: "k1:" + b64(k1) + ",k2:" + b64(k1) + ",active=k1", wantErr: true},
		{name: "bad id char", spec: "k/1:" + b64(k1), wantErr: true},
		{name: "empty id", spec: ":" + b64(k1), wantErr: true},
		{name: "id too long", spec: strings.Repeat("a", 65) + ":" + b64(k1), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := vault.ParseKeyRing(tc.spec)
			if tc.wantErr {
				require.Error(t, err)
				assert.ErrorIs(t, err, vault.ErrInvalidKey)
				assert.True(t, strings.HasPrefix(err.Error(), "vault: "), err.Error())
				for _, k := range [][]byte{k1, k2} {
					for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
						assert.NotContains(t, err.Error(), enc.EncodeToString(k)[:20], "error echoes key text")
					}
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.active, r.Active())
			assert.Equal(t, tc.ids, r.IDs())
		})
	}
}

func TestKeyRingNeverPrintsKeys(t *testing.T) {
	t.Parallel()
	k1, k2 := rawKey(10), rawKey(20)
	r, err := vault.ParseKeyRing("old:" + b64(k1) + ",new:" + b64(k2) + ",active=new")
	require.NoError(t, err)
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("ring", "keys", r, "value", *r)
	outputs := []string{
		r.String(),
		fmt.Sprintf("%v %+v %#v %s", r, r, r, r),
		fmt.Sprintf("%v %+v %#v %s", *r, *r, *r, *r),
		fmt.Sprintf("%v", vault.Config{Keys: r}),
		fmt.Sprintf("%+v", struct{ R vault.KeyRing }{*r}),
		logged.String(),
	}
	for _, out := range outputs {
		for _, k := range [][]byte{k1, k2} {
			assert.NotContains(t, out, b64(k))
			assert.NotContains(t, out, b64(k)[:12])
			assert.NotContains(t, out, fmt.Sprint(k))
			assert.NotContains(t, out, fmt.Sprintf("%x", k))
			assert.False(t, bytes.Contains([]byte(out), k))
		}
	}
	assert.Contains(t, r.String(), "active: new")
	assert.Contains(t, logged.String(), `"active":"new"`)
}

func TestKeyRingFingerprintAndWithActive(t *testing.T) {
	t.Parallel()
	r := ring(t, "a", "a", "b")
	fa, err := r.Fingerprint("a")
	require.NoError(t, err)
	fb, err := r.Fingerprint("b")
	require.NoError(t, err)
	assert.Len(t, fa, 16)
	assert.NotEqual(t, fa, fb)
	// Same bytes under another ID: same fingerprint (it identifies bytes).
	r2, err := vault.NewKeyRing("", map[string][]byte{"other": keyFor("a")})
	require.NoError(t, err)
	fo, err := r2.Fingerprint("other")
	require.NoError(t, err)
	assert.Equal(t, fa, fo)
	_, err = r.Fingerprint("zzz")
	assert.ErrorIs(t, err, vault.ErrUnknownKey)

	rb, err := r.WithActive("b")
	require.NoError(t, err)
	assert.Equal(t, "b", rb.Active())
	assert.Equal(t, "a", r.Active(), "WithActive must not change the receiver")
	_, err = r.WithActive("zzz")
	assert.ErrorIs(t, err, vault.ErrUnknownKey)
	assert.True(t, r.Has("a"))
	assert.False(t, r.Has("c"))
}

func TestNewKeyRingCopiesAndValidates(t *testing.T) {
	t.Parallel()
	k := rawKey(3)
	r, err := vault.NewKeyRing("", map[string][]byte{"k": k})
	require.NoError(t, err)
	fp, _ := r.Fingerprint("k")
	clear(k) // the caller wipes its copy; the ring must not change
	fp2, _ := r.Fingerprint("k")
	assert.Equal(t, fp, fp2)

	for name, keys := range map[string]map[string][]byte{
		"empty":     {},
		"short":     {"k": make([]byte, 31)},
		"bad id":    {"a b": rawKey(1)},
		"no active": {"a": rawKey(1), "b": rawKey(2)},
		"nil key":   {"k": nil},
		"identical": {"a": rawKey(1), "b": rawKey(1)},
	} {
		_, err := vault.NewKeyRing("", keys)
		assert.ErrorIs(t, err, vault.ErrInvalidKey, name)
	}
	_, err = vault.NewKeyRing("x", map[string][]byte{"k": rawKey(1)})
	assert.ErrorIs(t, err, vault.ErrInvalidKey)
}

func TestKeyRingFromEnv(t *testing.T) {
	t.Setenv(vault.KeysEnv, "k1:"+b64(rawKey(1))+",k2:"+b64(rawKey(2))+",active=k2")
	r, err := vault.KeyRingFromEnv("")
	require.NoError(t, err)
	assert.Equal(t, "k2", r.Active())

	t.Setenv("HOVIYAT_TEST_VAULT_KEYS", "k1:short")
	_, err = vault.KeyRingFromEnv("HOVIYAT_TEST_VAULT_KEYS")
	assert.ErrorIs(t, err, vault.ErrInvalidKey)
	assert.Contains(t, err.Error(), "HOVIYAT_TEST_VAULT_KEYS")

	_, err = vault.KeyRingFromEnv("HOVIYAT_TEST_VAULT_KEYS_UNSET")
	assert.ErrorIs(t, err, vault.ErrInvalidKey)
}
