package vault_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hoviyat/hoviyat/vault"
)

// Store a selfie video with its decision record, read it back, rotate the
// master key and shred the evidence at the end of its retention.
func Example() {
	ctx := context.Background()
	tmp, _ := os.MkdirTemp("", "vault-example-")
	defer os.RemoveAll(tmp)

	// Normally from the environment (vault.KeyRingFromEnv) or a secret
	// manager, each key from `head -c 32 /dev/urandom | base64`; two
	// obviously fake keys here.
	keys, err := vault.ParseKeyRing(
		"2025-01:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=," +
			"2026-01:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=," +
			"active=2025-01")
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := vault.New(vault.Config{Keys: keys, Dir: filepath.Join(tmp, "evidence")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()

	record := []byte(`{"outcome":"approved","face_match":{"model":"mobilefacenet-v1","threshold":0.42}}`)
	if err := v.Put(ctx, "att_0001", strings.NewReader("...selfie video bytes..."), record); err != nil {
		fmt.Println(err)
		return
	}

	video, rec, err := v.Get(ctx, "att_0001")
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := io.ReadAll(video)
	video.Close()
	fmt.Printf("video: %s\nrecord: %s\n", b, rec)

	st, _ := v.Rotate(ctx, "2026-01")
	info, _ := v.Stat(ctx, "att_0001")
	fmt.Printf("rewrapped %d object(s), now under key %s\n", st.Rewrapped, info.KeyID)

	_ = v.Shred(ctx, "att_0001")
	_, _, err = v.Get(ctx, "att_0001")
	fmt.Println("after shredding:", errors.Is(err, vault.ErrShredded))

	// Output:
	// video: ...selfie video bytes...
	// record: {"outcome":"approved","face_match":{"model":"mobilefacenet-v1","threshold":0.42}}
	// rewrapped 1 object(s), now under key 2026-01
	// after shredding: true
}
