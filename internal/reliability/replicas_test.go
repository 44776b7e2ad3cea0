package reliability_test

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/kyc/kyctest"
)

// loadResult is what one load generator saw (a plain JSON value).
type loadResult struct {
	// Latency of each submission, begin + upload, in the order finished.
	Latency []time.Duration
	// Outcomes counts: approved, rejected (counted), refused (a decision
	// that was not counted: already verified, locked), in_progress (the
	// national ID's slot was busy), begin_refused (not eligible any
	// more when beginning), error.
	Outcomes map[string]int
	Errors   []string
	// Started and Ended bound the submissions.
	Started, Ended time.Time
}

func (r *loadResult) add(o loadResult) {
	r.Latency = append(r.Latency, o.Latency...)
	if r.Outcomes == nil {
		r.Outcomes = map[string]int{}
	}
	for k, v := range o.Outcomes {
		r.Outcomes[k] += v
	}
	r.Errors = append(r.Errors, o.Errors...)
	if r.Started.IsZero() || o.Started.Before(r.Started) {
		r.Started = o.Started
	}
	if o.Ended.After(r.Ended) {
		r.Ended = o.Ended
	}
}

// replicaVideo picks a video: a quarter live, the rest spoofs, with a
// small detector delay so that submissions overlap.
func replicaVideo(rng *rand.Rand, id string) kyctest.VideoSpec {
	vs := kyctest.VideoSpec{Behaviour: kyctest.Spoof, Face: id, Delay: time.Duration(2+rng.IntN(8)) * time.Millisecond}
	if rng.IntN(4) == 0 {
		vs.Behaviour = kyctest.Live
	}
	return vs
}

// childReplica is one replica: a Verifier on the shared store that, after
// the parent's go line, runs spec.Submissions concurrent ceremonies
// (begin + submit) spread over the people, then prints a loadResult.
func childReplica(ctx context.Context, spec childSpec, out *lineWriter, in *bufio.Scanner) error {
	st, err := openStore(ctx, spec.Node)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := newNode(spec.Node, st, nil)
	if err != nil {
		return err
	}
	// Warm the connection pool so the first requests do not queue for
	// connections while the other replica races ahead.
	var warm sync.WaitGroup
	for range 16 {
		warm.Go(func() { _, _ = st.Applicant(ctx, spec.Node.NIDs[0]) })
	}
	warm.Wait()
	out.line("ready")
	if !in.Scan() || in.Text() != "go" {
		return errors.New("no go line")
	}
	res := runLoad(ctx, spec.Submissions, spec.Seed, func(ctx context.Context, i int, rng *rand.Rand) (string, error) {
		id := spec.Node.NIDs[i%len(spec.Node.NIDs)]
		s, err := n.Verifier.Begin(ctx, n.applicants[id])
		if errors.Is(err, kyc.ErrNotEligible) {
			return "begin_refused", nil
		}
		if err != nil {
			return "", err
		}
		d, err := n.Verifier.Submit(ctx, s.ID, kyctest.Video(replicaVideo(rng, id)))
		switch {
		case errors.Is(err, kyc.ErrAttemptInProgress):
			return "in_progress", nil
		case err != nil:
			return "", err
		case d.Outcome == kyc.Approved:
			return "approved", nil
		case d.Counted:
			return "rejected", nil
		}
		return "refused", nil
	})
	return out.json(res)
}

// runLoad runs n concurrent operations, all released at once, and times
// each.
func runLoad(ctx context.Context, n int, seed uint64, op func(ctx context.Context, i int, rng *rand.Rand) (string, error)) loadResult {
	res := loadResult{Outcomes: map[string]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			<-gate
			start := time.Now()
			outcome, err := op(ctx, i, rng)
			took := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			res.Latency = append(res.Latency, took)
			if err != nil {
				res.Outcomes["error"]++
				if len(res.Errors) < 20 {
					res.Errors = append(res.Errors, err.Error())
				}
				return
			}
			res.Outcomes[outcome]++
		})
	}
	res.Started = time.Now()
	close(gate)
	wg.Wait()
	res.Ended = time.Now()
	return res
}

// TestReplicasVerifier runs two OS processes, each a Verifier on one
// PostgreSQL schema, that release 500 concurrent ceremonies each at the
// same moment, spread over 50 national IDs: at most 3 counted attempts and
// at most one approval per ID, no reservation left, every decided attempt
// paid exactly once, the audit chain valid.
func TestReplicasVerifier(t *testing.T) {
	ctx := context.Background()
	dsn := pgDSN(t)
	const replicas, people, perReplica = 2, 50, 500
	schema := randomSchema("rel_replicas_")
	openPG(t, dsn, schema)
	ids := nids(people)
	cfg := nodeConfig{Store: "postgres:" + dsn, Schema: schema, NIDs: ids, Fee: 1000,
		ChargeLog: filepath.Join(t.TempDir(), "charges.log")}
	st, err := openStore(ctx, cfg)
	require.NoError(t, err)
	defer st.Close()
	p, err := newNode(cfg, st, nil)
	require.NoError(t, err)
	require.NoError(t, p.confirmAll(ctx))

	kids := make([]*child, replicas)
	for i := range kids {
		kids[i] = startChild(t, childSpec{Mode: "replica", Node: cfg, Submissions: perReplica, Seed: uint64(i + 1)})
	}
	for _, c := range kids {
		c.expect(t, "ready", time.Minute)
	}
	for _, c := range kids {
		c.send(t, "go")
	}
	var all loadResult
	per := make([]loadResult, replicas)
	for i, c := range kids {
		line := c.next(t, 3*time.Minute)
		require.NoError(t, json.Unmarshal([]byte(line), &per[i]))
		c.wait(t, time.Minute)
		all.add(per[i])
	}
	require.Empty(t, all.Errors, "unexpected errors")
	require.Len(t, all.Latency, replicas*perReplica)
	// The replicas really ran at the same time.
	require.True(t, per[0].Started.Before(per[1].Ended) && per[1].Started.Before(per[0].Ended), "replicas did not overlap")

	tl := checkInvariants(t, ctx, st, ids, 3, true)
	assert.Equal(t, tl.Decided, tl.Attempts, "no failures: every attempt decided")
	assert.Equal(t, all.Outcomes["approved"], tl.Approved)
	assert.Equal(t, all.Outcomes["rejected"], tl.Counted)
	log := chargeLog(t, cfg.ChargeLog)
	ff := checkCharges(t, log, tl, ids)
	assert.Equal(t, tl.Decided, ff.Taken, "one charge per decided attempt")
	assert.Equal(t, tl.Decided, tl.Charges)
	assert.Zero(t, ff.Replayed, "no failure: no charge asked for twice")

	wall := all.Ended.Sub(all.Started)
	figures(t, "replicas_verifier", "replicas", replicas, "people", people, "submissions", len(all.Latency),
		"wall", wall, "throughput_per_s", fmt.Sprintf("%.0f", float64(len(all.Latency))/wall.Seconds()),
		"p50", pct(all.Latency, 50), "p95", pct(all.Latency, 95), "p99", pct(all.Latency, 99),
		"outcomes", all.Outcomes, "attempts", tl.Attempts, "counted", tl.Counted, "approved", tl.Approved,
		"verified_ids", tl.Verified, "locked_ids", tl.Locked)
}

// vaultKeySpec returns a -vault-keys value with one fresh key.
func vaultKeySpec(t *testing.T) string {
	t.Helper()
	k := make([]byte, 32)
	_, err := crand.Read(k)
	require.NoError(t, err)
	return "k1:" + base64.StdEncoding.EncodeToString(k)
}

// TestReplicasBrokerage runs two OS processes of examples/brokerage
// (-vision=fake) on one PostgreSQL schema and drives 1,000 concurrent
// ceremonies over HTTP, spread over 50 national IDs; each session is begun
// on one replica and its video uploaded to the other. The invariants hold
// in the database and agree with what the clients were told.
func TestReplicasBrokerage(t *testing.T) {
	ctx := context.Background()
	dsn := pgDSN(t)
	const replicas, people, submissions = 2, 50, 1000
	schema := randomSchema("rel_brokerage_")
	openPG(t, dsn, schema)
	ids := nids(people)
	reg := writeRegistryDir(t, ids)
	token := "reliability-operator-token"
	keys := vaultKeySpec(t)
	urls := make([]string, replicas)
	for i := range urls {
		b := startBrokerage(t, "-store", "postgres:"+dsn, "-pg-schema", schema, "-vision", "fake",
			"-registry", "memory:"+reg, "-geoip", "dev", "-ip-rate", "0", "-id-rate", "0",
			"-operator-token", token, "-data", t.TempDir(), "-vault-keys", keys, "-log-level", "warn")
		urls[i] = b.URL
	}
	c := newAPIClient(token)
	var wg sync.WaitGroup
	errs := make(chan error, people)
	for w := range 10 {
		wg.Go(func() {
			for i := w; i < people; i += 10 {
				if err := c.confirmOTP(ctx, urls[i%replicas], urls[(i+1)%replicas], ids[i]); err != nil {
					errs <- fmt.Errorf("%s: %w", ids[i], err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	res := runLoad(ctx, submissions, 42, func(ctx context.Context, i int, rng *rand.Rand) (string, error) {
		id := ids[i%people]
		r, err := c.postJSON(ctx, urls[i%replicas]+"/api/sessions", applicantBody(id))
		switch {
		case err != nil:
			return "", err
		case r.Status == http.StatusForbidden && r.code() == string(kyc.CodeNotEligible):
			return "begin_refused", nil
		case r.Status != http.StatusCreated:
			return "", fmt.Errorf("begin: %d %s", r.Status, r.Raw)
		}
		r, err = c.upload(ctx, urls[(i+1)%replicas], r.str("session_id"), videoBytes(t, replicaVideo(rng, id)))
		switch {
		case err != nil:
			return "", err
		case r.Status == http.StatusConflict && r.code() == string(kyc.CodeAttemptInProgress):
			return "in_progress", nil
		case r.Status != http.StatusOK:
			return "", fmt.Errorf("upload: %d %s", r.Status, r.Raw)
		case r.str("outcome") == string(kyc.Approved):
			return "approved", nil
		case r.Body["counted"] == true:
			return "rejected", nil
		}
		return "refused", nil
	})
	require.Empty(t, res.Errors, "unexpected answers")
	require.Len(t, res.Latency, submissions)

	st, err := openStore(ctx, nodeConfig{Store: "postgres:" + dsn, Schema: schema})
	require.NoError(t, err)
	defer st.Close()
	tl := checkInvariants(t, ctx, st, ids, 3, false)
	assert.Equal(t, tl.Decided, tl.Attempts, "every attempt decided")
	assert.Equal(t, res.Outcomes["approved"], tl.Approved, "approvals told = approvals stored")
	assert.Equal(t, res.Outcomes["rejected"], tl.Counted, "rejections told = counted attempts stored")
	assert.Equal(t, people, tl.Verified+tl.Locked, "every ID ends verified or locked")

	wall := res.Ended.Sub(res.Started)
	figures(t, "replicas_brokerage", "replicas", replicas, "people", people, "submissions", len(res.Latency),
		"wall", wall, "throughput_per_s", fmt.Sprintf("%.0f", float64(len(res.Latency))/wall.Seconds()),
		"p50", pct(res.Latency, 50), "p95", pct(res.Latency, 95), "p99", pct(res.Latency, 99),
		"outcomes", res.Outcomes, "attempts", tl.Attempts, "counted", tl.Counted, "approved", tl.Approved,
		"verified_ids", tl.Verified, "locked_ids", tl.Locked)
}
