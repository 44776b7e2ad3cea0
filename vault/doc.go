// Package vault is Hoviyat's encrypted evidence storage: each object is a
// selfie video (or a representative's document) and the JSON decision
// record that explains the outcome (model versions, thresholds, measures),
// kept encrypted at rest, tamper-evident, rotatable and shreddable.
//
// # Flow
//
//	keys, _ := vault.KeyRingFromEnv("")            // HOVIYAT_VAULT_KEYS
//	v, _ := vault.New(vault.Config{Keys: keys, Dir: "/var/lib/hoviyat/evidence"})
//	defer v.Close()
//	_ = v.Put(ctx, attemptID, video, record)       // kyc.Verifier does this
//	rc, record, err := v.Get(ctx, attemptID)       // an operator's follow-up
//	_, _ = v.Rotate(ctx, "2026-01")                // after adding a new key
//	_ = v.Shred(ctx, attemptID)                    // end of retention
//
// *Vault implements kyc.Vault and is safe for concurrent use.
//
// # Envelope encryption
//
// Put draws a random 256-bit data key per object. HKDF-SHA256 derives two
// AES-256-GCM keys from it, one for the video stream and one for the
// record (so their nonces can never collide). The data key itself is
// wrapped with AES-256-GCM by the active master key of the KeyRing, and
// the wrapped key is stored with that master key's ID and fingerprint in
// a small, separate key file. The data key is never stored unwrapped.
//
// Master keys are 32 random bytes, configured as text such as
//
//	HOVIYAT_VAULT_KEYS="2025-01:<base64>,2026-01:<base64>,active=2026-01"
//
// (see ParseKeyRing). Keep them in a secret manager, not in the evidence
// directory's backups. Wraps use random 96-bit GCM nonces, for which NIST
// SP 800-38D allows 2^32 encryptions per key; rotate long before that.
//
// # Streaming
//
// A video (up to the 1 GiB default cap) is never held whole: Put seals it
// in chunks of ChunkSize plaintext bytes (64 KiB by default) as it reads,
// and Get's reader opens one chunk at a time, so each Put or Get holds
// about one chunk of memory. The chunk nonce is
//
//	prefix (7 random bytes per object) || chunk counter (uint32) || last (0 or 1)
//
// and every chunk's AAD is the video header followed by the object ID
// (the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár).
// Changing any byte, dropping, repeating or reordering chunks, truncating
// or extending the stream, moving chunks between objects or editing the
// header makes authentication fail (ErrTampered). A reader never returns
// bytes of a chunk before that chunk authenticated, and reports
// truncation at the latest in place of io.EOF.
//
// # On-disk format (version 1)
//
// Integers are big-endian; each part begins with a magic and a version
// byte, so a later format can be told apart.
//
//	key file (94 bytes + key ID):
//	  "HVKF" | version=1 | idLen (1 byte, 1..64) | master key ID
//	  | fingerprint (8) | created (int64 Unix ms) | video length (uint64)
//	  | record length (uint32) | wrap nonce (12) | wrapped data key (32+16)
//	  AAD of the wrap: every byte before the wrapped key, then the object ID.
//
//	video:
//	  header (16): "HVVD" | version=1 | chunk size (uint32, 64..1 MiB) | prefix (7)
//	  then chunks: sealed(chunk size plaintext bytes) = chunk size + 16 bytes,
//	  the last one holding 0..chunk size bytes (0 only for an empty video).
//
//	record: "HVRC" | version=1 | nonce (12) | sealed record (len + 16)
//	  AAD: those 17 header bytes, then the object ID.
//
//	tombstone: "HVTS" | version=1 | shredded at (int64 Unix ms)
//
// The fingerprint is the first 8 bytes of HMAC-SHA256(master key, label):
// it tells "the ring has other bytes under this key ID" (ErrWrongKey)
// apart from tampering. A key file's lengths and creation time are
// authenticated with the wrap, so Stat needs no access to the video.
//
// # Storage
//
// A Backend stores the encrypted parts; it never sees plaintext. Dir is
// the filesystem backend (layout in its documentation): 0700 directories,
// 0600 files, objects written in a staging directory, fsynced, and
// renamed into place in one step, so a crash or a cancelled Put leaves no
// partial object. Object IDs are 1 to 128 characters from
// [A-Za-z0-9._-], not starting with a dot, which rules out path
// traversal. Objects are write-once.
//
// # Rotation
//
// To retire a master key: add the new key to every process's ring, make
// it active everywhere, then run Rotate once. Rotate rewraps each
// object's data key under the new key, replacing only the small key file;
// video and record bytes are not rewritten. When Rotate reports no
// failures, remove the old key from the rings and destroy it. Rotate is
// idempotent, so it can be re-run to pick up objects a lagging process
// wrapped with the old key.
//
// # Crypto-shredding and deletion
//
// Shred writes a tombstone, destroys the key file (overwritten with
// random bytes, fsynced, unlinked, together with any temporary copy), and
// then removes the video and record. Without the data key the ciphertext
// is useless even if a copy of it survives in a backup. Afterwards Get
// reports ErrShredded and the ID cannot be reused. Delete removes the
// object and its tombstone entirely (key first) and frees the ID.
//
// Overwriting a file does not guarantee that its old blocks are gone on
// journaling or copy-on-write filesystems, SSDs or snapshots, and backups
// hold copies of key files. Those copies are wrapped by a master key, so
// the guarantee is complete once every master key that ever wrapped the
// object's data key is destroyed: rotate regularly and destroy retired
// master keys.
//
// # Threat model
//
// The vault protects the confidentiality and integrity of evidence
// against anyone who can read or modify the storage but does not hold the
// master keys: they learn only object IDs, sizes and times, and any
// change they make is detected. It does not protect availability: such
// an attacker can delete objects (detect that through the audit log,
// which records every evidence ID), or restore an older key file of the
// same object (harmless: it wraps the same data key). Because Delete frees
// an ID, a restored copy of a deleted object would read as valid under a
// reused ID: do not reuse IDs of deleted evidence (random IDs never are).
//
// # Concurrency
//
// Vault and Dir are safe for concurrent use. Several processes may share
// one Dir for Put and Get. Rotate, Shred and Delete are serialised per
// object inside one Vault; across processes, run Rotate from one process
// at a time (Rotate re-destroys a key file it rewrapped if a Shred from
// elsewhere raced with it).
package vault
