package main

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// keyedLimiter is a token bucket per key (a client IP or a national ID)
// over golang.org/x/time/rate. A bucket that has refilled completely is
// indistinguishable from a new one, so sweeps drop those: memory is held
// only for keys that are actually being limited. When maxKeys buckets are
// in debt at once, new keys are refused (fail closed under a flood).
// Safe for concurrent use.
type keyedLimiter struct {
	limit   rate.Limit
	burst   int
	maxKeys int
	now     func() time.Time

	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	lastSweep time.Time
}

// sweepEvery is how often Allow drops full buckets.
const sweepEvery = time.Minute

// newKeyedLimiter returns a limiter of perSecond events per key with the
// given burst; perSecond 0 disables it (nil, whose Allow always admits).
func newKeyedLimiter(perSecond float64, burst, maxKeys int, now func() time.Time) *keyedLimiter {
	if perSecond <= 0 {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	return &keyedLimiter{limit: rate.Limit(perSecond), burst: burst, maxKeys: maxKeys, now: now,
		buckets: map[string]*rate.Limiter{}}
}

// Allow takes one token from key's bucket. When it is empty it returns
// false and how long until a token is available.
func (l *keyedLimiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= sweepEvery || len(l.buckets) >= l.maxKeys {
		l.sweepLocked(now)
	}
	b, found := l.buckets[key]
	if !found {
		if len(l.buckets) >= l.maxKeys {
			return false, time.Second
		}
		b = rate.NewLimiter(l.limit, l.burst)
		l.buckets[key] = b
	}
	if b.AllowN(now, 1) {
		return true, 0
	}
	missing := 1 - b.TokensAt(now)
	wait := time.Duration(math.Ceil(missing / float64(l.limit) * float64(time.Second)))
	return false, max(wait, time.Millisecond)
}

// sweepLocked drops buckets that are full again.
func (l *keyedLimiter) sweepLocked(now time.Time) {
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, k)
		}
	}
	l.lastSweep = now
}

// size returns the number of buckets held (for tests).
func (l *keyedLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
