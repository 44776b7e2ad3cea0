package kyc

import (
	"crypto/rand"
	"io"
	"log/slog"
	"runtime"
	"time"

	"github.com/hoviyat/hoviyat/facematch"
	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/policy"
	"github.com/hoviyat/hoviyat/registry"
)

// Config wires a Verifier. It is copied by New; zero values mean the
// documented defaults.
type Config struct {
	// Registry looks up the applicant in the civil registry. Required.
	Registry registry.CivilRegistry
	// Mobiles checks mobile ownership (Shahkar-style). Required unless the
	// policy skips the check.
	Mobiles registry.MobileOwnership
	// Detector judges the selfie video. Required.
	Detector liveness.Detector
	// Matcher compares the video's faces with the registry photo.
	// Required.
	Matcher facematch.Matcher
	// Policy is the rule set. Default: policy.New(policy.Config{}) (Sejam
	// defaults).
	Policy *policy.Policy
	// Store persists state. Required (store/sqlite is the embedded
	// default, store/postgres for several replicas).
	Store Store
	// Vault keeps the videos and decision records encrypted. Required.
	Vault Vault
	// Locator maps client IPs to countries (policy/geoip). Required: the
	// domestic-access rule needs it. An Applicant without an IP counts as
	// an unknown location.
	Locator Locator
	// OTP delivers one-time codes. Required unless the policy skips OTP.
	OTP OTPSender
	// Charger collects Fee per attempt. Required when Fee > 0.
	Charger Charger
	// Fee per upload attempt in Currency's minor unit; 0 charges nothing.
	Fee int64
	// Currency of Fee. Default "IRR".
	Currency string
	// Observer receives stage timings and decisions (metrics). Optional.
	Observer Observer
	// Logger receives operational logs without personal data. Default:
	// discard.
	Logger *slog.Logger

	// SessionTTL is how long a challenge session accepts its upload.
	// Default 3 minutes.
	SessionTTL time.Duration
	// OTPTTL is how long a code is valid. Default 2 minutes.
	OTPTTL time.Duration
	// OTPMaxTries is the number of confirmation tries per code. Default 5.
	OTPMaxTries int
	// OTPResendInterval is the minimum time between two codes for one
	// national ID. Default 60 seconds.
	OTPResendInterval time.Duration
	// OTPConfirmedTTL is how long a confirmed code lets the applicant
	// begin sessions. Default 15 minutes.
	OTPConfirmedTTL time.Duration
	// OTPSecret, if set, is mixed into the stored OTP hashes (a pepper).
	OTPSecret []byte
	// ChallengeWords and ChallengeDigits shape the text read aloud.
	// Defaults 3 words and 4 digits.
	ChallengeWords  int
	ChallengeDigits int
	// HeadTurn adds a random head-turn request to each challenge.
	HeadTurn bool
	// AttemptLease is how long a reserved attempt holds the national ID's
	// slot; after it, a crashed attempt is abandoned (not counted).
	// Default 10 minutes; it must exceed AnalysisTimeout.
	AttemptLease time.Duration
	// MaxVideoBytes caps uploads. Default 50 MB.
	MaxVideoBytes int64
	// TempDir holds spooled uploads (files 0600, removed after use).
	// Default os.TempDir().
	TempDir string
	// MaxConcurrent bounds the analyses running at once in this process;
	// more Submits queue (respecting their contexts). Default GOMAXPROCS.
	MaxConcurrent int
	// RegistryTimeout bounds each registry call. Default 10 seconds.
	RegistryTimeout time.Duration
	// AnalysisTimeout bounds liveness + matching. Default 2 minutes.
	AnalysisTimeout time.Duration
	// Now returns the current time. Default: the policy's clock.
	Now func() time.Time
	// Rand is the source of randomness. Default crypto/rand.Reader.
	Rand io.Reader
}

// Observer receives measurements of the ceremony, e.g. to export
// Prometheus metrics. Methods must be safe for concurrent use and fast.
type Observer interface {
	// ObserveStage reports how long a stage took ("inquiry", "otp_send",
	// "begin", "spool", "registry", "charge", "queue", "detect", "match",
	// "vault", "store", "submit") and its error, if any.
	ObserveStage(stage string, d time.Duration, err error)
	// ObserveDecision reports every decision Submit or Review returns.
	ObserveDecision(d Decision)
}

func (c *Config) setDefaults() {
	if c.Currency == "" {
		c.Currency = "IRR"
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = 3 * time.Minute
	}
	if c.OTPTTL == 0 {
		c.OTPTTL = 2 * time.Minute
	}
	if c.OTPMaxTries == 0 {
		c.OTPMaxTries = 5
	}
	if c.OTPResendInterval == 0 {
		c.OTPResendInterval = 60 * time.Second
	}
	if c.OTPConfirmedTTL == 0 {
		c.OTPConfirmedTTL = 15 * time.Minute
	}
	if c.ChallengeWords == 0 && c.ChallengeDigits == 0 {
		c.ChallengeWords, c.ChallengeDigits = 3, 4
	}
	if c.AttemptLease == 0 {
		c.AttemptLease = 10 * time.Minute
	}
	if c.MaxVideoBytes == 0 {
		c.MaxVideoBytes = 50 << 20
	}
	if c.MaxConcurrent == 0 {
		c.MaxConcurrent = runtime.GOMAXPROCS(0)
	}
	if c.RegistryTimeout == 0 {
		c.RegistryTimeout = 10 * time.Second
	}
	if c.AnalysisTimeout == 0 {
		c.AnalysisTimeout = 2 * time.Minute
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.OTPSecret = append([]byte(nil), c.OTPSecret...)
}
