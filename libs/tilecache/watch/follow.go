// Package watch follows the two buckets of the tile cache: geo_cache (the
// version of every tile, Versions) and geo_cache_nodes (the live cache
// nodes, Nodes). Both replay the bucket first and then apply updates; a
// watcher that is lost (its subscription closed while the context is
// alive, as can happen across server restarts) is recreated with backoff,
// and the replay of the new watcher reconciles what was missed.
//
// The package does not log: errors go to an OnError callback.
package watch

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Backoff between attempts to recreate a lost watcher.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// follower is what a bucket follower does with the watch.
type follower interface {
	// begin starts a replay; apply takes each entry; synced ends the replay;
	// lost says the watcher is gone.
	begin()
	apply(e jetstream.KeyValueEntry)
	synced()
	lost()
}

// follow watches kv until ctx is done, recreating a lost watcher, and a
// live one on a signal on restart.
func follow(ctx context.Context, kv jetstream.KeyValue, f follower, onError func(error), restart <-chan struct{}) {
	backoff := minBackoff
	for ctx.Err() == nil {
		if watchOnce(ctx, kv, f, onError, restart) {
			backoff = minBackoff
		}
		if ctx.Err() != nil {
			return
		}
		f.lost()
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// watchOnce runs one watcher until it closes or a restart is asked; it
// reports whether the watcher got through its replay.
func watchOnce(ctx context.Context, kv jetstream.KeyValue, f follower, onError func(error), restart <-chan struct{}) bool {
	select {
	case <-restart: // asked before this watcher: it is the restart
	default:
	}
	w, err := kv.WatchAll(ctx, jetstream.MetaOnly())
	if err != nil {
		if ctx.Err() == nil && onError != nil {
			onError(fmt.Errorf("watch %s: %w", kv.Bucket(), err))
		}
		return false
	}
	defer func() { _ = w.Stop() }()
	f.begin()
	replayed := false
	for {
		select {
		case <-ctx.Done():
			return replayed
		case <-restart:
			return replayed
		case e, ok := <-w.Updates():
			if !ok {
				if ctx.Err() == nil && onError != nil {
					onError(fmt.Errorf("watch %s: watcher closed", kv.Bucket()))
				}
				return replayed
			}
			if e == nil {
				replayed = true
				f.synced()
				continue
			}
			f.apply(e)
		}
	}
}

// restarter is the restart signal of a follower.
type restarter chan struct{}

func newRestarter() restarter { return make(restarter, 1) }

func (r restarter) signal() {
	select {
	case r <- struct{}{}:
	default:
	}
}

// Restartable is a follower whose watcher can be recreated on demand.
type Restartable interface{ Restart() }

// RestartOnReconnect restarts the watchers of fs every time nc reconnects:
// the ordered consumer behind a watcher does not survive a server restart,
// and nats.go notices only after missed heartbeats (about 20 s measured),
// while a new watcher's replay reconciles at once. stop ends it.
func RestartOnReconnect(nc *nats.Conn, fs ...Restartable) (stop func()) {
	ch := nc.StatusChanged(nats.CONNECTED)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range ch {
			for _, f := range fs {
				f.Restart()
			}
		}
	}()
	return func() {
		nc.RemoveStatusListener(ch)
		wg.Wait()
	}
}
