package httpreg

import (
	"sync"
	"time"
)

// BreakerState is the state of a dependency's circuit breaker (a string
// value, safe for concurrent use).
type BreakerState string

// Breaker states.
const (
	// BreakerClosed: calls go through; consecutive failures are counted.
	BreakerClosed BreakerState = "closed"
	// BreakerOpen: calls fail at once with kind circuit_open.
	BreakerOpen BreakerState = "open"
	// BreakerHalfOpen: the cool-down has passed; one probe may go through.
	BreakerHalfOpen BreakerState = "half_open"
	// BreakerDisabled: Config.BreakerThreshold is negative.
	BreakerDisabled BreakerState = "disabled"
)

// result is what an attempt tells the breaker.
type result int

const (
	resultNeutral result = iota // the dependency was not judged (caller cancelled, auth hook failed)
	resultSuccess
	resultFailure
)

// breaker is a consecutive-failure circuit breaker. Safe for concurrent
// use.
type breaker struct {
	threshold int // <= 0: disabled
	cooldown  time.Duration
	now       func() time.Time

	mu       sync.Mutex
	state    BreakerState
	failures int
	openedAt time.Time
	probing  bool   // a half-open probe is in flight
	gen      uint64 // bumped on every state change
}

func newBreaker(threshold int, cooldown time.Duration, now func() time.Time) *breaker {
	b := &breaker{threshold: threshold, cooldown: cooldown, now: now, state: BreakerClosed}
	if threshold <= 0 {
		b.state = BreakerDisabled
	}
	return b
}

// ticket identifies one allowed attempt.
type ticket struct {
	gen   uint64
	probe bool
}

// allow reports whether an attempt may go ahead, and its ticket.
func (b *breaker) allow() (ticket, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case BreakerDisabled, BreakerClosed:
		return ticket{gen: b.gen}, true
	case BreakerOpen:
		if b.now().Sub(b.openedAt) < b.cooldown {
			return ticket{}, false
		}
		b.setState(BreakerHalfOpen)
	}
	// Half-open: one probe at a time.
	if b.probing {
		return ticket{}, false
	}
	b.probing = true
	return ticket{gen: b.gen, probe: true}, true
}

// record reports the outcome of the attempt holding t.
func (b *breaker) record(t ticket, r result) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == BreakerDisabled || t.gen != b.gen {
		return // the state changed since the attempt started
	}
	if t.probe {
		b.probing = false
	}
	switch r {
	case resultSuccess:
		b.failures = 0
		if b.state == BreakerHalfOpen {
			b.setState(BreakerClosed)
		}
	case resultFailure:
		b.failures++
		if b.state == BreakerHalfOpen || b.failures >= b.threshold {
			b.openedAt = b.now()
			b.setState(BreakerOpen)
		}
	}
}

// current returns the state, reporting an open breaker whose cool-down has
// passed as half-open (the next call will probe).
func (b *breaker) current() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == BreakerOpen && b.now().Sub(b.openedAt) >= b.cooldown {
		return BreakerHalfOpen
	}
	return b.state
}

func (b *breaker) setState(s BreakerState) {
	b.state = s
	b.failures = 0
	b.probing = false
	b.gen++
}
