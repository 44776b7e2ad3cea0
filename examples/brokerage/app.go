package main

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/policy/geoip"
	"github.com/hoviyat/hoviyat/registry"
	"github.com/hoviyat/hoviyat/registry/httpreg"
	"github.com/hoviyat/hoviyat/registry/memory"
	"github.com/hoviyat/hoviyat/store/postgres"
	"github.com/hoviyat/hoviyat/store/sqlite"
	"github.com/hoviyat/hoviyat/vault"
)

//go:embed fixtures/*.json
var demoFixtures embed.FS

// app is everything a running server owns, built from Options.
type app struct {
	Server   *Server
	Verifier *kyc.Verifier
	OTP      *ConsoleOTP
	closers  []func() error
}

// Close releases the verifier's dependencies in reverse order of
// creation. Call it after the HTTP server has stopped.
func (a *app) Close() error {
	var errs []error
	if a.Verifier != nil {
		errs = append(errs, a.Verifier.Close())
	}
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	return errors.Join(errs...)
}

// buildHooks lets tests replace pieces that the flags cannot express.
type buildHooks struct {
	// configure edits the kyc.Config last (e.g. a test clock).
	configure func(*kyc.Config)
}

// buildApp opens the store, vault, registry, GeoIP and vision models
// named by o and wires a Verifier and a Server. On error everything
// opened so far is closed.
func buildApp(ctx context.Context, o Options, log *slog.Logger, hooks buildHooks) (_ *app, err error) {
	a := &app{}
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("brokerage: data directory: %w", err)
	}

	// Store.
	var st kyc.Store
	switch {
	case strings.HasPrefix(o.Store, "sqlite:"):
		s, err := sqlite.Open(ctx, strings.TrimPrefix(o.Store, "sqlite:"))
		if err != nil {
			return nil, err
		}
		st, a.closers = s, append(a.closers, s.Close)
	case strings.HasPrefix(o.Store, "postgres:"):
		var opts []postgres.Option
		if o.PGSchema != "" {
			opts = append(opts, postgres.WithSchema(o.PGSchema))
		}
		s, err := postgres.Open(ctx, strings.TrimPrefix(o.Store, "postgres:"), opts...)
		if err != nil {
			return nil, err
		}
		st, a.closers = s, append(a.closers, s.Close)
	}

	// Vault.
	keys, err := vaultKeys(o, log)
	if err != nil {
		return nil, err
	}
	vlt, err := vault.New(vault.Config{Keys: keys, Dir: o.VaultDir, MaxVideoSize: max(o.MaxUpload, 1<<20)})
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, vlt.Close)

	// Registry.
	var civil registry.CivilRegistry
	var mobiles registry.MobileOwnership
	switch {
	case o.Registry == "demo" || strings.HasPrefix(o.Registry, "memory:"):
		reg := memory.New()
		if o.Registry == "demo" {
			err = loadDemo(reg, o.PhotoRoot, log)
		} else {
			var opts []memory.LoadOption
			if o.PhotoRoot != "" {
				opts = append(opts, memory.WithPhotoRoot(o.PhotoRoot))
			}
			err = reg.LoadDir(strings.TrimPrefix(o.Registry, "memory:"), opts...)
		}
		if err != nil {
			return nil, err
		}
		log.Info("registry loaded", "kind", "memory", "people", reg.Len())
		civil, mobiles = reg, reg
	case strings.HasPrefix(o.Registry, "http:"):
		c, err := httpreg.New(httpreg.Config{BaseURL: strings.TrimPrefix(o.Registry, "http:")})
		if err != nil {
			return nil, err
		}
		civil, mobiles = c, c
	}

	// GeoIP.
	var loc kyc.Locator
	devGeo := o.GeoIP == "dev"
	if devGeo {
		log.Warn("DEV GEOIP: loopback and private addresses count as Iran, all others as unknown; use -geoip=FILE.mmdb in production")
		loc = devLocator{}
	} else {
		db, err := geoip.Open(o.GeoIP)
		if err != nil {
			return nil, err
		}
		a.closers = append(a.closers, db.Close)
		loc = db
	}

	// Vision.
	var vis *vision
	if o.Vision == "fake" {
		log.Warn("FAKE VISION: uploads are not analysed; any real video counts as live and matching (-vision=real for the real pipeline)")
		vis = newFakeVision()
		civil = fakePhotos{civil}
	} else {
		if vis, err = newRealVision(o.ModelsDir, o.MaxConcurrent, o.MaxUpload); err != nil {
			return nil, fmt.Errorf("brokerage: -vision=real: %w (set -models or HOVIYAT_MODELS, or use -vision=fake)", err)
		}
	}
	a.closers = append(a.closers, vis.Close)

	metrics := NewMetrics()
	a.OTP = NewConsoleOTP(log)
	log.Warn("DEV OTP: codes are logged instead of sent by SMS; plug a kyc.OTPSender for your SMS gateway in production")
	cfg := kyc.Config{
		Registry: civil, Mobiles: mobiles, Detector: vis.Detector, Matcher: vis.Matcher,
		Store: st, Vault: vlt, Locator: loc, OTP: a.OTP, Observer: metrics,
		Logger: log, MaxVideoBytes: o.MaxUpload, MaxConcurrent: o.MaxConcurrent,
		TempDir: filepath.Join(o.DataDir, "spool"),
	}
	if err := os.MkdirAll(cfg.TempDir, 0o700); err != nil {
		return nil, fmt.Errorf("brokerage: spool directory: %w", err)
	}
	if hooks.configure != nil {
		hooks.configure(&cfg)
	}
	if a.Verifier, err = kyc.New(cfg); err != nil {
		return nil, err
	}
	proxies, err := parseProxies(o.TrustedProxies)
	if err != nil {
		return nil, err
	}
	if o.OperatorToken == "" {
		log.Warn("no -operator-token: the operator endpoints (/api/reviews) are disabled")
	}
	a.Server, err = NewServer(Config{
		Verifier: a.Verifier, Metrics: metrics, Logger: log, TrustedProxies: proxies,
		OperatorToken: o.OperatorToken, MaxUploadBytes: o.MaxUpload,
		IPRate: o.IPRate, IPBurst: o.IPBurst, IDRate: o.IDRate, IDBurst: o.IDBurst,
		Vision: vis.Name, VisionModels: vis.Models, DevGeo: devGeo, DevOTP: a.OTP,
		Inspector: newInspector(vlt, vis.Detector, cfg.TempDir),
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

func parseProxies(s string) ([]netip.Prefix, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	return geoip.ParsePrefixes(strings.Split(s, ",")...)
}

// vaultKeys parses -vault-keys, or reads (creating on first use) the dev
// key file DATA/vault-dev.key, warning loudly.
func vaultKeys(o Options, log *slog.Logger) (*vault.KeyRing, error) {
	if o.VaultKeys != "" {
		return vault.ParseKeyRing(o.VaultKeys)
	}
	path := filepath.Join(o.DataDir, "vault-dev.key")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		b, err = createDevKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("brokerage: dev vault key: %w", err)
	}
	log.Warn("DEV VAULT KEY: evidence is encrypted with a generated key stored next to it; set -vault-keys (HOVIYAT_VAULT_KEYS) in production",
		"key_file", path)
	return vault.ParseKeyRing(strings.TrimSpace(string(b)))
}

// createDevKey writes a new random key ring to path unless another
// process (a second replica sharing the data directory) got there first,
// in which case it returns that one: the key is written to a temporary
// file and linked into place, which fails if path exists.
func createDevKey(path string) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, key); err != nil {
		return nil, err
	}
	b := []byte("dev:" + base64.StdEncoding.EncodeToString(key) + "\n")
	tmp, err := os.CreateTemp(filepath.Dir(path), ".vault-dev.key-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return os.ReadFile(path)
	} else if err != nil {
		return nil, err
	}
	return b, nil
}

// loadDemo loads the built-in demo people. Their photos are paths under
// photoRoot (the shared media directory); a person whose photo is missing
// is loaded without one (their uploads then go to review).
func loadDemo(reg *memory.Registry, photoRoot string, log *slog.Logger) error {
	dir, err := os.MkdirTemp("", "hoviyat-demo-registry-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	entries, err := fs.ReadDir(demoFixtures, "fixtures")
	if err != nil {
		return err
	}
	missing := 0
	for _, e := range entries {
		b, err := demoFixtures.ReadFile("fixtures/" + e.Name())
		if err != nil {
			return err
		}
		b, dropped := dropMissingPhoto(b, photoRoot)
		if dropped {
			missing++
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600); err != nil {
			return err
		}
	}
	if missing > 0 {
		log.Warn("demo registry: some photos were not found under -photo-root (HOVIYAT_DATA); those people have no photo", "without_photo", missing)
	}
	var opts []memory.LoadOption
	if photoRoot != "" {
		opts = append(opts, memory.WithPhotoRoot(photoRoot))
	}
	return reg.LoadDir(dir, opts...)
}

// dropMissingPhoto removes the "photo" field of a fixture record when the
// file is not under photoRoot, and reports whether it did.
func dropMissingPhoto(b []byte, photoRoot string) ([]byte, bool) {
	var rec map[string]any
	if err := json.Unmarshal(b, &rec); err != nil {
		return b, false
	}
	p, ok := rec["photo"].(string)
	if !ok {
		return b, false
	}
	if photoRoot != "" {
		if _, err := os.Stat(filepath.Join(photoRoot, p)); err == nil {
			return b, false
		}
	}
	delete(rec, "photo")
	out, err := json.Marshal(rec)
	if err != nil {
		return b, false
	}
	return out, true
}
