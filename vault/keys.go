package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
)

// KeySize is the length of a master key and of a data key: 32 bytes
// (AES-256).
const KeySize = 32

// KeysEnv is the environment variable KeyRingFromEnv reads by default.
const KeysEnv = "HOVIYAT_VAULT_KEYS"

// maxKeyIDLen bounds a key ID; it is stored in every key file.
const maxKeyIDLen = 64

// fingerprintSize is the length of a master key's fingerprint.
const fingerprintSize = 8

// masterKey is one master key, kept only as its AES-GCM instance and
// fingerprint: the raw bytes are not retained after construction.
type masterKey struct {
	id   string
	aead cipher.AEAD
	fp   [fingerprintSize]byte
}

// KeyRing holds master keys by ID, one of them active (used to wrap the
// data keys of new objects); the others only unwrap. A KeyRing is
// immutable and safe for concurrent use.
//
// Its String, GoString and LogValue forms show key IDs and fingerprints,
// never key bytes, and the raw bytes are not kept after construction, so a
// KeyRing can be logged or printed safely.
type KeyRing struct {
	keys   map[string]*masterKey
	active string
}

// NewKeyRing builds a key ring from raw 32-byte keys by ID; active names
// the key that wraps new objects and may be empty when keys has exactly
// one entry. The bytes are copied into AES key schedules; the caller may
// wipe its slices afterwards.
func NewKeyRing(active string, keys map[string][]byte) (*KeyRing, error) {
	if len(keys) == 0 {
		return nil, newErr(ErrInvalidKey, "", nil, "key ring is empty")
	}
	r := &KeyRing{keys: make(map[string]*masterKey, len(keys))}
	ids := make([]string, 0, len(keys))
	for id := range keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		k, err := newMasterKey(id, keys[id])
		if err != nil {
			return nil, err
		}
		for _, other := range r.keys {
			if subtle.ConstantTimeCompare(other.fp[:], k.fp[:]) == 1 {
				return nil, newErr(ErrInvalidKey, "", nil, "keys %q and %q are identical", other.id, id)
			}
		}
		r.keys[id] = k
	}
	if active == "" {
		if len(ids) != 1 {
			return nil, newErr(ErrInvalidKey, "", nil, "%d keys and no active key named", len(ids))
		}
		active = ids[0]
	}
	if _, ok := r.keys[active]; !ok {
		return nil, newErr(ErrInvalidKey, "", nil, "active key %q is not in the ring", active)
	}
	r.active = active
	return r, nil
}

// ParseKeyRing parses the text form of a key ring: comma-separated
// entries, each either ID:KEY, where KEY is 32 bytes in base64 (standard
// or URL alphabet, padded or not), or active=ID naming the active key.
// Spaces and newlines around entries are ignored. With a single key the
// active= entry may be omitted. Example (keys shortened):
//
//	2025-01:q83vEjRWeJq83vEjRWeJq83v...,2025-07:AAECAwQFBgcICQoLDA0ODxAR...,active=2025-07
//
// Key IDs are 1 to 64 characters from [A-Za-z0-9._-]. A fresh key comes
// from e.g. `head -c 32 /dev/urandom | base64`. Errors name the entry and
// key ID but never echo key text.
func ParseKeyRing(spec string) (*KeyRing, error) {
	keys := map[string][]byte{}
	defer func() {
		for _, b := range keys {
			clear(b)
		}
	}()
	active := ""
	for i, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			if strings.TrimSpace(spec) == "" {
				return nil, newErr(ErrInvalidKey, "", nil, "key ring specification is empty")
			}
			return nil, newErr(ErrInvalidKey, "", nil, "entry %d is empty", i+1)
		}
		if v, ok := strings.CutPrefix(entry, "active="); ok {
			if active != "" {
				return nil, newErr(ErrInvalidKey, "", nil, "entry %d: active key named twice", i+1)
			}
			if err := checkKeyID(v); err != nil {
				return nil, newErr(ErrInvalidKey, "", err, "entry %d", i+1)
			}
			active = v
			continue
		}
		id, text, ok := strings.Cut(entry, ":")
		if !ok {
			return nil, newErr(ErrInvalidKey, "", nil, "entry %d: want ID:BASE64KEY or active=ID", i+1)
		}
		id = strings.TrimSpace(id)
		if err := checkKeyID(id); err != nil {
			return nil, newErr(ErrInvalidKey, "", err, "entry %d", i+1)
		}
		if _, dup := keys[id]; dup {
			return nil, newErr(ErrInvalidKey, "", nil, "entry %d: key %q appears twice", i+1, id)
		}
		b, err := decodeKey(strings.TrimSpace(text))
		if err != nil {
			return nil, newErr(ErrInvalidKey, "", nil, "entry %d (key %q): %s", i+1, id, err)
		}
		keys[id] = b
	}
	return NewKeyRing(active, keys)
}

// KeyRingFromEnv parses the key ring in the environment variable name
// (KeysEnv when name is empty) with ParseKeyRing.
func KeyRingFromEnv(name string) (*KeyRing, error) {
	if name == "" {
		name = KeysEnv
	}
	spec, ok := os.LookupEnv(name)
	if !ok {
		return nil, newErr(ErrInvalidKey, "", nil, "environment variable %s is not set", name)
	}
	r, err := ParseKeyRing(spec)
	if err != nil {
		return nil, fmt.Errorf("vault: %s: %w", name, err)
	}
	return r, nil
}

// decodeKey decodes base64 in any of the four common forms and checks the
// length. Its error never contains the input.
func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		b, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(b) != KeySize {
			clear(b)
			return nil, fmt.Errorf("key must be %d bytes, got %d", KeySize, len(b))
		}
		return b, nil
	}
	return nil, fmt.Errorf("key is not valid base64")
}

func newMasterKey(id string, key []byte) (*masterKey, error) {
	if err := checkKeyID(id); err != nil {
		return nil, newErr(ErrInvalidKey, "", err, "")
	}
	if len(key) != KeySize {
		return nil, newErr(ErrInvalidKey, "", nil, "key %q must be %d bytes, got %d", id, KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, newErr(ErrInvalidKey, "", err, "key %q", id)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, newErr(ErrInvalidKey, "", err, "key %q", id)
	}
	k := &masterKey{id: id, aead: aead}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("hoviyat/vault/v1/master-key-fingerprint"))
	copy(k.fp[:], m.Sum(nil))
	return k, nil
}

// checkKeyID validates a key ID: 1 to 64 characters from [A-Za-z0-9._-].
func checkKeyID(id string) error {
	if id == "" || len(id) > maxKeyIDLen {
		return fmt.Errorf("key ID must be 1 to %d characters, got %d", maxKeyIDLen, len(id))
	}
	for i := 0; i < len(id); i++ {
		if !idChar(id[i]) {
			return fmt.Errorf("key ID %q: character %q not in [A-Za-z0-9._-]", id, id[i])
		}
	}
	return nil
}

func idChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '-'
}

// Active returns the ID of the key that wraps new objects.
func (r KeyRing) Active() string { return r.active }

// IDs returns the key IDs in the ring, sorted.
func (r KeyRing) IDs() []string {
	ids := make([]string, 0, len(r.keys))
	for id := range r.keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Has reports whether the ring holds a key with that ID.
func (r KeyRing) Has(id string) bool {
	_, ok := r.keys[id]
	return ok
}

// Fingerprint returns a hex fingerprint of the key with that ID (the first
// 8 bytes of HMAC-SHA256 keyed by it), to compare configurations across
// processes without revealing the key. It is stored in every key file.
func (r KeyRing) Fingerprint(id string) (string, error) {
	k, ok := r.keys[id]
	if !ok {
		return "", newErr(ErrUnknownKey, "", nil, "key %q", id)
	}
	return hex.EncodeToString(k.fp[:]), nil
}

// WithActive returns a copy of the ring whose active key is id.
func (r KeyRing) WithActive(id string) (*KeyRing, error) {
	if _, ok := r.keys[id]; !ok {
		return nil, newErr(ErrUnknownKey, "", nil, "key %q", id)
	}
	c := &KeyRing{keys: r.keys, active: id}
	return c, nil
}

// String shows the active ID and every key's ID and fingerprint.
func (r KeyRing) String() string {
	var b strings.Builder
	b.WriteString("vault.KeyRing{active: ")
	b.WriteString(r.active)
	b.WriteString(", keys: [")
	for i, id := range r.IDs() {
		if i > 0 {
			b.WriteString(" ")
		}
		fp, _ := r.Fingerprint(id)
		b.WriteString(id + "/" + fp)
	}
	b.WriteString("]}")
	return b.String()
}

// GoString is String, so %#v does not dump internals.
func (r KeyRing) GoString() string { return r.String() }

// LogValue implements slog.LogValuer with IDs and fingerprints only.
func (r KeyRing) LogValue() slog.Value {
	return slog.GroupValue(slog.String("active", r.active), slog.Any("ids", r.IDs()))
}

// key returns the master key with that ID.
func (r KeyRing) key(id string) (*masterKey, bool) {
	k, ok := r.keys[id]
	return k, ok
}
