package watch

import (
	"context"
	"slices"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/geocluster/geocluster/libs/events"
)

// Nodes knows the live cache nodes: the keys of geo_cache_nodes. A node
// leaves when it deletes its key (clean stop) or when the key's TTL lapses.
type Nodes struct {
	// OnChange is called from the watching goroutine with the sorted ids
	// after every change.
	OnChange func(nodes []string)
	// OnError receives watch errors (the watcher is recreated).
	OnError func(error)

	kv      jetstream.KeyValue
	mu      sync.RWMutex
	live    map[string]bool
	seen    map[string]bool
	list    []string
	readyC  chan struct{}
	once    sync.Once
	restart restarter
}

// NewNodes returns a follower of kv (the geo_cache_nodes bucket).
func NewNodes(kv jetstream.KeyValue) *Nodes {
	return &Nodes{kv: kv, live: map[string]bool{}, readyC: make(chan struct{}), restart: newRestarter()}
}

// Run follows the bucket until ctx is done.
func (n *Nodes) Run(ctx context.Context) { follow(ctx, n.kv, n, n.OnError, n.restart) }

// Restart recreates the watcher; its replay reconciles the list.
func (n *Nodes) Restart() { n.restart.signal() }

// WaitSynced blocks until the first replay is complete.
func (n *Nodes) WaitSynced(ctx context.Context) error {
	select {
	case <-n.readyC:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// List returns the live node ids, sorted. The slice is shared: do not
// modify it.
func (n *Nodes) List() []string {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.list
}

func (n *Nodes) begin() {
	n.mu.Lock()
	n.seen = map[string]bool{}
	n.mu.Unlock()
}

func (n *Nodes) apply(e jetstream.KeyValueEntry) {
	id := e.Key()
	if !events.ValidToken(id) {
		return
	}
	n.mu.Lock()
	if e.Operation() == jetstream.KeyValuePut {
		n.live[id] = true
		if n.seen != nil {
			n.seen[id] = true
		}
	} else {
		delete(n.live, id)
	}
	changed := n.rebuild()
	n.mu.Unlock()
	n.notify(changed)
}

func (n *Nodes) synced() {
	n.mu.Lock()
	if n.seen != nil {
		for id := range n.live {
			if !n.seen[id] {
				delete(n.live, id)
			}
		}
	}
	n.seen = nil
	changed := n.rebuild()
	n.mu.Unlock()
	n.once.Do(func() { close(n.readyC) })
	n.notify(changed)
}

func (n *Nodes) lost() {}

// rebuild recomputes the sorted list under the lock; it returns the new
// list when it changed.
func (n *Nodes) rebuild() []string {
	list := make([]string, 0, len(n.live))
	for id := range n.live {
		list = append(list, id)
	}
	slices.Sort(list)
	if slices.Equal(list, n.list) {
		return nil
	}
	n.list = list
	return list
}

func (n *Nodes) notify(list []string) {
	if list != nil && n.OnChange != nil {
		n.OnChange(list)
	}
}
