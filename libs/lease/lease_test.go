package lease_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/lease"
	"github.com/geocluster/geocluster/libs/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, natstest.KnownLeak) }

func leases(t *testing.T) jetstream.JetStream {
	t.Helper()
	s := natstest.Server(t)
	_, js := natstest.JetStream(t, s, "lease-test")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: events.BucketLeases, History: 1, LimitMarkerTTL: time.Minute})
	require.NoError(t, err)
	return js
}

func cfg(holder string) lease.Config {
	return lease.Config{Key: "actor", Holder: holder, TTL: time.Second, RenewEvery: 200 * time.Millisecond, RetryEvery: 50 * time.Millisecond}
}

func TestOnlyOneContenderLeads(t *testing.T) {
	js := leases(t)
	ctx, cancel := context.WithCancel(context.Background())
	var leading, most, tenures atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for _, h := range []string{"a", "b", "c"} {
		wg.Go(func() {
			errs <- lease.Run(ctx, js, cfg(h), func(ctx context.Context, _ uint64) error {
				n := leading.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				tenures.Add(1)
				<-ctx.Done()
				leading.Add(-1)
				return nil
			})
		})
	}
	require.Eventually(t, func() bool { return tenures.Load() >= 1 }, 10*time.Second, 10*time.Millisecond)
	// Hold over several TTLs: the leader renews, nobody else gets in.
	deadline := time.Now().Add(3 * time.Second)
	require.Eventually(t, func() bool { return time.Now().After(deadline) }, 10*time.Second, 50*time.Millisecond)
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, int32(1), most.Load(), "never two leaders at once")
	assert.Equal(t, int32(1), tenures.Load(), "the leader kept its lease by renewing")
}

func TestDeadHolderIsReplacedAfterTTLWithAGreaterToken(t *testing.T) {
	js := leases(t)
	ctx := context.Background()
	dead, err := lease.Acquire(ctx, js, cfg("dead"))
	require.NoError(t, err)
	_, err = lease.Acquire(ctx, js, cfg("other"))
	require.ErrorIs(t, err, lease.ErrHeld)

	// The dead holder never renews; a contender takes over after the TTL.
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tokens := make(chan uint64, 1)
	var states []lease.State
	var mu sync.Mutex
	c := cfg("successor")
	c.OnChange = func(s lease.State, _ uint64) { mu.Lock(); states = append(states, s); mu.Unlock() }
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		done <- lease.Run(rctx, js, c, func(ctx context.Context, token uint64) error {
			tokens <- token
			<-ctx.Done()
			return nil
		})
	}()
	var token uint64
	require.Eventually(t, func() bool {
		select {
		case token = <-tokens:
			return true
		default:
			return false
		}
	}, 10*time.Second, 10*time.Millisecond)
	assert.GreaterOrEqual(t, time.Since(start), 500*time.Millisecond, "no takeover long before the TTL")
	assert.Greater(t, token, dead.Revision(), "the successor's fencing token is greater")
	assert.ErrorIs(t, dead.Renew(ctx), lease.ErrLost, "the dead holder learns it lost the lease")

	cancel()
	require.NoError(t, <-done)
	mu.Lock()
	assert.Equal(t, []lease.State{lease.Campaigning, lease.Leading, lease.Released}, states)
	mu.Unlock()

	// Released: the next contender gets it at once.
	next, err := lease.Acquire(ctx, js, cfg("next"))
	require.NoError(t, err)
	assert.Greater(t, next.Token(), token)
	require.NoError(t, next.Release(ctx))
}

func TestLeaderLosingTheKeyIsToldWithErrLost(t *testing.T) {
	js := leases(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kv, err := js.KeyValue(ctx, events.BucketLeases)
	require.NoError(t, err)
	causes := make(chan error, 1)
	done := make(chan error, 1)
	go func() {
		done <- lease.Run(ctx, js, cfg("leader"), func(ctx context.Context, _ uint64) error {
			<-ctx.Done()
			select {
			case causes <- context.Cause(ctx):
			default:
			}
			return nil
		})
	}()
	require.Eventually(t, func() bool { _, err := kv.Get(ctx, "actor"); return err == nil }, 10*time.Second, 10*time.Millisecond)
	// An operator (or a bug) overwrites the key: the next renewal fails.
	_, err = kv.Put(ctx, "actor", []byte("intruder"))
	require.NoError(t, err)
	var cause error
	require.Eventually(t, func() bool {
		select {
		case cause = <-causes:
			return true
		default:
			return false
		}
	}, 10*time.Second, 10*time.Millisecond)
	assert.True(t, errors.Is(cause, lease.ErrLost), "cause %v", cause)
	cancel()
	require.NoError(t, <-done)
}

func TestConfigValidate(t *testing.T) {
	for name, c := range map[string]lease.Config{
		"no key":        {Holder: "h"},
		"bad key":       {Key: "a.b", Holder: "h"},
		"no holder":     {Key: "k"},
		"short ttl":     {Key: "k", Holder: "h", TTL: 100 * time.Millisecond},
		"slow renewals": {Key: "k", Holder: "h", TTL: time.Second, RenewEvery: time.Second},
	} {
		t.Run(name, func(t *testing.T) { assert.Error(t, c.Validate()) })
	}
	assert.NoError(t, lease.Config{Key: "k", Holder: "h"}.Validate())
}
