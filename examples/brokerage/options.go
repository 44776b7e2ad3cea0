package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Options is the process configuration, read from flags with environment
// fallbacks (a flag given on the command line wins over its variable).
// Every option is listed in optionDocs, which -help prints. It is a plain
// value.
type Options struct {
	Addr            string
	DataDir         string
	Store           string
	PGSchema        string
	VaultDir        string
	VaultKeys       string
	Registry        string
	PhotoRoot       string
	GeoIP           string
	ModelsDir       string
	Vision          string
	MaxUpload       int64
	TrustedProxies  string
	OperatorToken   string
	IPRate          float64
	IPBurst         int
	IDRate          float64
	IDBurst         int
	MaxConcurrent   int
	ShutdownTimeout time.Duration
	LogLevel        string
}

// optionDoc documents one flag and its environment variable.
type optionDoc struct {
	Flag, Env, Default, Doc string
}

// optionDocs is the configuration reference (also rendered in the README).
var optionDocs = []optionDoc{
	{"addr", "HOVIYAT_ADDR", ":8080", "listen address"},
	{"data", "HOVIYAT_DATA_DIR", "", "directory for the default SQLite file, vault and dev vault key, created 0700 (default $TMPDIR/hoviyat-brokerage)"},
	{"store", "HOVIYAT_STORE", "", "state store: sqlite:PATH, or postgres:DSN for several replicas sharing one database (default sqlite:DATA/kyc.db)"},
	{"pg-schema", "HOVIYAT_PG_SCHEMA", "", "PostgreSQL schema for the store tables (created if missing); empty uses the DSN's search_path"},
	{"vault-dir", "HOVIYAT_VAULT_DIR", "", "encrypted evidence directory: videos and decision records (default DATA/vault)"},
	{"vault-keys", "HOVIYAT_VAULT_KEYS", "", "vault master key ring, ID:BASE64KEY[,ID:KEY,active=ID]; empty generates a DEV key in DATA/vault-dev.key (warned loudly)"},
	{"registry", "HOVIYAT_REGISTRY", "demo", "civil registry: demo (built-in fixtures), memory:DIR (JSON records + photos, see registry/memory) or http:URL (registry/httpreg)"},
	{"photo-root", "HOVIYAT_DATA", "", "root for relative photo paths of memory:/demo fixtures (the shared media directory)"},
	{"geoip", "HOVIYAT_GEOIP", "dev", "GeoIP country database (.mmdb path), or dev: loopback and private addresses count as Iran (DEV ONLY)"},
	{"models", "HOVIYAT_MODELS", "", "directory of the vision models (-vision=real)"},
	{"vision", "HOVIYAT_VISION", "real", "real (liveness/cv + facematch/onnx) or fake (kyctest fakes: any real video is live and matches; the page says so)"},
	{"max-upload", "HOVIYAT_MAX_UPLOAD", "50MiB", "largest accepted video (bytes, or with KB/KiB/MB/MiB suffix)"},
	{"trusted-proxies", "HOVIYAT_TRUSTED_PROXIES", "", "comma-separated proxy addresses/prefixes whose X-Forwarded-For is believed"},
	{"operator-token", "HOVIYAT_OPERATOR_TOKEN", "", "bearer token of the operator endpoints (/api/reviews, /api/dev/otp); empty disables them"},
	{"ip-rate", "HOVIYAT_IP_RATE", "2", "API requests per second per client IP (token bucket; 0 disables)"},
	{"ip-burst", "HOVIYAT_IP_BURST", "40", "burst of the per-IP bucket"},
	{"id-rate", "HOVIYAT_ID_RATE", "0.2", "requests per second per national ID on inquiry/OTP/session/status (0 disables)"},
	{"id-burst", "HOVIYAT_ID_BURST", "10", "burst of the per-national-ID bucket"},
	{"max-concurrent", "HOVIYAT_MAX_CONCURRENT", "0", "analyses at once in this process (0: GOMAXPROCS); more uploads queue"},
	{"shutdown-timeout", "HOVIYAT_SHUTDOWN_TIMEOUT", "2m", "on SIGINT/SIGTERM, how long in-flight requests (uploads being analysed) may take to finish"},
	{"log-level", "HOVIYAT_LOG_LEVEL", "info", "debug, info, warn or error"},
}

// parseOptions reads args (without the program name) with getenv
// fallbacks. It returns flag.ErrHelp for -help after printing usage to out.
func parseOptions(args []string, getenv func(string) string, out io.Writer) (Options, error) {
	fs := flag.NewFlagSet("brokerage", flag.ContinueOnError)
	fs.SetOutput(out)
	vals := map[string]*string{}
	for _, d := range optionDocs {
		def := getenv(d.Env)
		if def == "" {
			def = d.Default
		}
		vals[d.Flag] = fs.String(d.Flag, def, fmt.Sprintf("%s (env %s)", d.Doc, d.Env))
	}
	fs.Usage = func() {
		fmt.Fprintln(out, "Usage: brokerage [flags]\n\nA reference HTTP server for Hoviyat remote identity verification.\nEvery flag falls back to its environment variable.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return Options{}, err
	}
	if fs.NArg() > 0 {
		return Options{}, fmt.Errorf("brokerage: unexpected arguments %q", fs.Args())
	}
	get := func(name string) string { return strings.TrimSpace(*vals[name]) }

	var o Options
	var errs []error
	o.Addr = get("addr")
	o.DataDir = get("data")
	if o.DataDir == "" {
		o.DataDir = filepath.Join(os.TempDir(), "hoviyat-brokerage")
	}
	o.Store = get("store")
	if o.Store == "" {
		o.Store = "sqlite:" + filepath.Join(o.DataDir, "kyc.db")
	}
	o.PGSchema = get("pg-schema")
	o.VaultDir = get("vault-dir")
	if o.VaultDir == "" {
		o.VaultDir = filepath.Join(o.DataDir, "vault")
	}
	o.VaultKeys = get("vault-keys")
	o.Registry = get("registry")
	o.PhotoRoot = get("photo-root")
	o.GeoIP = get("geoip")
	o.ModelsDir = get("models")
	o.Vision = get("vision")
	o.TrustedProxies = get("trusted-proxies")
	o.OperatorToken = get("operator-token")
	o.LogLevel = get("log-level")

	var err error
	if o.MaxUpload, err = parseSize(get("max-upload")); err != nil {
		errs = append(errs, fmt.Errorf("-max-upload: %w", err))
	}
	floatOpt := func(name string, dst *float64) {
		v, err := strconv.ParseFloat(get(name), 64)
		if err != nil || v < 0 {
			errs = append(errs, fmt.Errorf("-%s: want a number >= 0, got %q", name, get(name)))
		}
		*dst = v
	}
	intOpt := func(name string, dst *int) {
		v, err := strconv.Atoi(get(name))
		if err != nil || v < 0 {
			errs = append(errs, fmt.Errorf("-%s: want an integer >= 0, got %q", name, get(name)))
		}
		*dst = v
	}
	floatOpt("ip-rate", &o.IPRate)
	intOpt("ip-burst", &o.IPBurst)
	floatOpt("id-rate", &o.IDRate)
	intOpt("id-burst", &o.IDBurst)
	intOpt("max-concurrent", &o.MaxConcurrent)
	if o.ShutdownTimeout, err = time.ParseDuration(get("shutdown-timeout")); err != nil || o.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("-shutdown-timeout: want a positive duration, got %q", get("shutdown-timeout")))
	}
	switch o.Vision {
	case "real", "fake":
	default:
		errs = append(errs, fmt.Errorf("-vision: want real or fake, got %q", o.Vision))
	}
	switch {
	case strings.HasPrefix(o.Store, "sqlite:") && len(o.Store) > len("sqlite:"):
	case strings.HasPrefix(o.Store, "postgres:") && len(o.Store) > len("postgres:"):
	default:
		errs = append(errs, fmt.Errorf("-store: want sqlite:PATH or postgres:DSN, got %q", redactDSN(o.Store)))
	}
	switch {
	case o.Registry == "demo":
	case strings.HasPrefix(o.Registry, "memory:") && len(o.Registry) > len("memory:"):
	case strings.HasPrefix(o.Registry, "http:") && len(o.Registry) > len("http:"):
	default:
		errs = append(errs, fmt.Errorf("-registry: want demo, memory:DIR or http:URL, got %q", o.Registry))
	}
	switch o.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("-log-level: want debug, info, warn or error, got %q", o.LogLevel))
	}
	if o.IPRate > 0 && o.IPBurst < 1 || o.IDRate > 0 && o.IDBurst < 1 {
		errs = append(errs, errors.New("a rate limit needs a burst of at least 1"))
	}
	return o, errors.Join(errs...)
}

// parseSize parses "1048576", "512KiB", "50MB", "50MiB" (case-insensitive).
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1000}, {"MB", 1000_000}, {"GB", 1000_000_000}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("want a positive size such as 50MiB, got %q", s)
	}
	if n > (1<<40)/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n * mult, nil
}

// redactDSN hides a password in a store URL for error messages.
func redactDSN(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		if j := strings.Index(s[i+3:], "@"); j >= 0 {
			return s[:i+3] + "***" + s[i+3+j:]
		}
	}
	if strings.Contains(s, "password=") {
		return "postgres:(DSN with password, hidden)"
	}
	return s
}
