package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"io"
)

// On-disk format, version 1. Every stored part starts with a 4-byte magic
// and a version byte; all integers are big-endian. The layouts are
// described in doc.go.
const (
	formatVersion = 1

	magicKey    = "HVKF"
	magicVideo  = "HVVD"
	magicRecord = "HVRC"
	magicTomb   = "HVTS"

	tagSize        = 16 // AES-GCM tag
	nonceSize      = 12 // AES-GCM nonce
	prefixSize     = 7  // random per-object part of a chunk nonce
	wrappedKeySize = KeySize + tagSize

	videoHeaderSize  = 4 + 1 + 4 + prefixSize
	recordHeaderSize = 4 + 1 + nonceSize
	tombSize         = 4 + 1 + 8

	// keyFileFixed is the size of a key file without its key ID.
	keyFileFixed = 4 + 1 + 1 + fingerprintSize + 8 + 8 + 4 + nonceSize + wrappedKeySize
	maxKeyFile   = keyFileFixed + maxKeyIDLen

	// maxChunks: the chunk counter is 32 bits.
	maxChunks = 1 << 32
)

// Chunk sizes of the video stream, in plaintext bytes. MinChunkSize and
// MaxChunkSize bound Config.ChunkSize and also the chunk size a stored
// video header may declare, so a forged header cannot make a reader
// allocate much before authentication fails.
const (
	MinChunkSize     = 64
	MaxChunkSize     = 1 << 20
	DefaultChunkSize = 64 << 10
)

// Subkey labels: the data key is never used directly; HKDF-SHA256 derives
// one AES-256 key for the video stream and one for the record, so their
// nonce spaces cannot collide.
const (
	infoVideo  = "hoviyat/vault/v1/video"
	infoRecord = "hoviyat/vault/v1/record"
)

// keyFile is the small part that holds the wrapped data key and the
// object's metadata. Everything before the wrapped key, plus the object ID,
// is the AAD of the wrap, so editing any field (or moving the file to
// another object) makes unwrapping fail.
type keyFile struct {
	keyID     string
	fp        [fingerprintSize]byte
	created   int64 // Unix milliseconds
	videoLen  uint64
	recordLen uint32
	nonce     [nonceSize]byte
	wrapped   [wrappedKeySize]byte
}

func (k *keyFile) marshal() []byte {
	b := make([]byte, 0, keyFileFixed+len(k.keyID))
	b = append(b, magicKey...)
	b = append(b, formatVersion, byte(len(k.keyID)))
	b = append(b, k.keyID...)
	b = append(b, k.fp[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(k.created))
	b = binary.BigEndian.AppendUint64(b, k.videoLen)
	b = binary.BigEndian.AppendUint32(b, k.recordLen)
	b = append(b, k.nonce[:]...)
	b = append(b, k.wrapped[:]...)
	return b
}

// aad is the authenticated data of the wrap: the marshalled file without
// the wrapped key, then the object ID.
func (k *keyFile) aad(id string) []byte {
	b := k.marshal()
	b = b[:len(b)-wrappedKeySize]
	return append(b, id...)
}

// parseKeyFile parses a key file. Every failure is ErrTampered.
func parseKeyFile(b []byte) (keyFile, error) {
	var k keyFile
	if len(b) < 6 {
		return k, tampered("key file truncated (%d bytes)", len(b))
	}
	if string(b[:4]) != magicKey {
		return k, tampered("key file: bad magic")
	}
	if b[4] != formatVersion {
		return k, tampered("key file: unsupported version %d", b[4])
	}
	n := int(b[5])
	if len(b) != keyFileFixed+n {
		return k, tampered("key file: %d bytes, want %d", len(b), keyFileFixed+n)
	}
	p := b[6:]
	k.keyID = string(p[:n])
	if err := checkKeyID(k.keyID); err != nil {
		return k, tampered("key file: %v", err)
	}
	p = p[n:]
	p = p[copy(k.fp[:], p):]
	k.created = int64(binary.BigEndian.Uint64(p))
	k.videoLen = binary.BigEndian.Uint64(p[8:])
	k.recordLen = binary.BigEndian.Uint32(p[16:])
	p = p[20:]
	p = p[copy(k.nonce[:], p):]
	copy(k.wrapped[:], p)
	return k, nil
}

// wrap seals dk under mk into k (whose other fields must be final).
func (k *keyFile) wrap(mk *masterKey, dk []byte, id string, rand io.Reader) error {
	k.keyID = mk.id
	k.fp = mk.fp
	if _, err := io.ReadFull(rand, k.nonce[:]); err != nil {
		return fmt.Errorf("vault: random: %w", err)
	}
	out := mk.aead.Seal(k.wrapped[:0], k.nonce[:], dk, k.aad(id))
	if len(out) != wrappedKeySize {
		panic("vault: wrapped key size") // cannot happen: dk is KeySize
	}
	return nil
}

// unwrap returns the data key of object id.
func (k *keyFile) unwrap(ring *KeyRing, id string) ([]byte, error) {
	mk, ok := ring.key(k.keyID)
	if !ok {
		return nil, newErr(ErrUnknownKey, id, nil, "key %q", k.keyID)
	}
	if subtle.ConstantTimeCompare(mk.fp[:], k.fp[:]) != 1 {
		return nil, newErr(ErrWrongKey, id, nil, "key %q", k.keyID)
	}
	dk, err := mk.aead.Open(nil, k.nonce[:], k.wrapped[:], k.aad(id))
	if err != nil {
		return nil, newErr(ErrTampered, id, nil, "wrapped data key failed authentication")
	}
	return dk, nil
}

// videoHeader starts the video part; it is the AAD (with the object ID)
// of every chunk.
type videoHeader struct {
	chunkSize uint32
	prefix    [prefixSize]byte
}

func (h *videoHeader) marshal() []byte {
	b := make([]byte, 0, videoHeaderSize)
	b = append(b, magicVideo...)
	b = append(b, formatVersion)
	b = binary.BigEndian.AppendUint32(b, h.chunkSize)
	return append(b, h.prefix[:]...)
}

// parseVideoHeader parses the first videoHeaderSize bytes of a video part.
// Every failure is ErrTampered.
func parseVideoHeader(b []byte) (videoHeader, error) {
	var h videoHeader
	if len(b) < videoHeaderSize {
		return h, tampered("video header truncated (%d bytes)", len(b))
	}
	if string(b[:4]) != magicVideo {
		return h, tampered("video header: bad magic")
	}
	if b[4] != formatVersion {
		return h, tampered("video header: unsupported version %d", b[4])
	}
	h.chunkSize = binary.BigEndian.Uint32(b[5:])
	if h.chunkSize < MinChunkSize || h.chunkSize > MaxChunkSize {
		return h, tampered("video header: chunk size %d out of range", h.chunkSize)
	}
	copy(h.prefix[:], b[9:videoHeaderSize])
	return h, nil
}

// chunkNonce is prefix || counter (32 bits) || last flag (0 or 1): the
// STREAM construction, so chunks cannot be reordered, dropped, duplicated
// or the stream truncated without failing authentication.
func chunkNonce(dst *[nonceSize]byte, prefix *[prefixSize]byte, counter uint64, last bool) {
	copy(dst[:], prefix[:])
	binary.BigEndian.PutUint32(dst[prefixSize:], uint32(counter))
	dst[nonceSize-1] = 0
	if last {
		dst[nonceSize-1] = 1
	}
}

// subkeyAEAD derives an AES-256-GCM instance from the data key.
func subkeyAEAD(dk []byte, info string) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, dk, nil, info, KeySize)
	if err != nil {
		return nil, fmt.Errorf("vault: hkdf: %w", err)
	}
	defer clear(k)
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("vault: aes: %w", err)
	}
	return cipher.NewGCM(block)
}

// sealRecord encrypts the decision record.
func sealRecord(aead cipher.AEAD, id string, record []byte, rand io.Reader) ([]byte, error) {
	b := make([]byte, recordHeaderSize, recordHeaderSize+len(record)+tagSize)
	copy(b, magicRecord)
	b[4] = formatVersion
	if _, err := io.ReadFull(rand, b[5:recordHeaderSize]); err != nil {
		return nil, fmt.Errorf("vault: random: %w", err)
	}
	aad := append(append([]byte(nil), b[:recordHeaderSize]...), id...)
	return aead.Seal(b, b[5:recordHeaderSize], record, aad), nil
}

// openRecord decrypts a record part and checks its length against the key
// file. Every failure is ErrTampered.
func openRecord(aead cipher.AEAD, id string, b []byte, want uint32) ([]byte, error) {
	if len(b) < recordHeaderSize+tagSize {
		return nil, tampered("record truncated (%d bytes)", len(b))
	}
	if string(b[:4]) != magicRecord {
		return nil, tampered("record: bad magic")
	}
	if b[4] != formatVersion {
		return nil, tampered("record: unsupported version %d", b[4])
	}
	if len(b)-recordHeaderSize-tagSize != int(want) {
		return nil, tampered("record: %d bytes, key file says %d", len(b)-recordHeaderSize-tagSize, want)
	}
	aad := append(append([]byte(nil), b[:recordHeaderSize]...), id...)
	pt, err := aead.Open(nil, b[5:recordHeaderSize], b[recordHeaderSize:], aad)
	if err != nil {
		return nil, tampered("record failed authentication")
	}
	if pt == nil {
		pt = []byte{}
	}
	return pt, nil
}

// tombstone marks a shredded object; its content is informational.
func marshalTomb(ms int64) []byte {
	b := append([]byte(magicTomb), formatVersion)
	return binary.BigEndian.AppendUint64(b, uint64(ms))
}
