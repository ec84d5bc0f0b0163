package watch

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, natstest.KnownLeak) }

const (
	wait = 10 * time.Second
	tick = 2 * time.Millisecond
)

// fakeKV hands each watcher it creates to the test, which plays the
// bucket's part; only Bucket and WatchAll are used by follow.
type fakeKV struct {
	jetstream.KeyValue
	watchers chan *fakeWatcher
}

func (f *fakeKV) Bucket() string { return "fake" }

func (f *fakeKV) WatchAll(context.Context, ...jetstream.WatchOpt) (jetstream.KeyWatcher, error) {
	w := &fakeWatcher{ch: make(chan jetstream.KeyValueEntry, 16)}
	f.watchers <- w
	return w, nil
}

type fakeWatcher struct{ ch chan jetstream.KeyValueEntry }

func (w *fakeWatcher) Updates() <-chan jetstream.KeyValueEntry { return w.ch }
func (w *fakeWatcher) Stop() error                             { return nil }

type entry struct {
	key string
	rev uint64
	op  jetstream.KeyValueOp
}

func (e entry) Bucket() string                  { return "fake" }
func (e entry) Key() string                     { return e.key }
func (e entry) Value() []byte                   { return nil }
func (e entry) Revision() uint64                { return e.rev }
func (e entry) Created() time.Time              { return time.Time{} }
func (e entry) Delta() uint64                   { return 0 }
func (e entry) Operation() jetstream.KeyValueOp { return e.op }

func put(object string, rev uint64) entry {
	return entry{events.CacheKey(object), rev, jetstream.KeyValuePut}
}

func TestLostVersionWatchIsRecreatedAndReconciled(t *testing.T) {
	t.Parallel()
	kv := &fakeKV{watchers: make(chan *fakeWatcher, 4)}
	v := NewVersions(kv)
	var mu sync.Mutex
	var changes []Change
	v.OnChange = func(c Change) { mu.Lock(); changes = append(changes, c); mu.Unlock() }
	var lost atomic.Int32
	v.OnError = func(error) { lost.Add(1) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); v.Run(ctx) }()
	defer func() { cancel(); <-done }()

	w1 := <-kv.watchers
	w1.ch <- put("a", 1)
	w1.ch <- put("b", 2)
	w1.ch <- nil
	require.NoError(t, v.WaitSynced(ctx))
	require.Eventually(t, v.Synced, wait, tick)
	assert.Equal(t, uint64(1), v.Latest("a"))
	w1.ch <- put("a", 3)
	require.Eventually(t, func() bool { return v.Latest("a") == 3 }, wait, tick)
	v.Observe("a", 2) // an older observation does not lower it
	assert.Equal(t, uint64(3), v.Latest("a"))

	close(w1.ch) // the watcher is lost
	require.Eventually(t, func() bool { return !v.Synced() }, wait, tick, "a lost watch is not trusted")
	var w2 *fakeWatcher
	select {
	case w2 = <-kv.watchers:
	case <-time.After(wait):
		t.Fatal("the watcher was not recreated")
	}
	assert.Equal(t, int32(1), lost.Load())
	// While no watcher ran, a was written again and b deleted.
	w2.ch <- put("a", 5)
	w2.ch <- nil
	require.Eventually(t, v.Synced, wait, tick)
	assert.Equal(t, uint64(5), v.Latest("a"))
	assert.Zero(t, v.Latest("b"))
	assert.Equal(t, 1, v.Len())
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []Change{
		{Object: "a", Version: 1}, {Object: "b", Version: 2}, {Object: "a", Version: 3},
		{Object: "a", Version: 5}, {Object: "b", Deleted: true},
	}, changes)
}

func TestNodesFollowRegistrationsAndExpiry(t *testing.T) {
	t.Parallel()
	kv := &fakeKV{watchers: make(chan *fakeWatcher, 4)}
	n := NewNodes(kv)
	lists := make(chan []string, 16)
	n.OnChange = func(l []string) { lists <- l }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); n.Run(ctx) }()
	defer func() { cancel(); <-done }()

	w := <-kv.watchers
	w.ch <- entry{"c2", 1, jetstream.KeyValuePut}
	w.ch <- entry{"c1", 2, jetstream.KeyValuePut}
	w.ch <- nil
	require.NoError(t, n.WaitSynced(ctx))
	require.Eventually(t, func() bool { return len(n.List()) == 2 }, wait, tick)
	assert.Equal(t, []string{"c1", "c2"}, n.List())
	w.ch <- entry{"c1", 3, jetstream.KeyValuePut}     // a heartbeat changes nothing
	w.ch <- entry{"bad.id", 4, jetstream.KeyValuePut} // not a node id
	w.ch <- entry{"c2", 5, jetstream.KeyValuePurge}   // its TTL lapsed
	require.Eventually(t, func() bool { return len(n.List()) == 1 }, wait, tick)
	assert.Equal(t, []string{"c1"}, n.List())
	close(w.ch)
	w = <-kv.watchers
	w.ch <- entry{"c3", 6, jetstream.KeyValuePut}
	w.ch <- nil
	require.Eventually(t, func() bool { return len(n.List()) == 1 && n.List()[0] == "c3" }, wait, tick, "c1 left while no watcher ran")
}
