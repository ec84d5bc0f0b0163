package cache

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/geocluster/geocluster/libs/tilecache"
	"github.com/geocluster/geocluster/libs/tilecache/lru"
	"github.com/geocluster/geocluster/libs/tilecache/watch"
)

// node is one running cache node.
type node struct {
	cfg      Config
	log      zerolog.Logger
	nc       *nats.Conn
	js       jetstream.JetStream
	kv       jetstream.KeyValue // geo_cache
	nodesKV  jetstream.KeyValue // geo_cache_nodes
	store    jetstream.ObjectStore
	versions *watch.Versions
	members  *watch.Nodes
	codec    *codec
	host     string
	started  time.Time

	mu       sync.Mutex // guards lru, tooLarge, flights
	lru      *lru.Cache
	tooLarge map[string]uint64 // objects too large to send, by version
	flights  map[string]*flight

	hits, misses, evictions, invalidations atomic.Uint64

	// superseded, when set (tests), is called when an entry is dropped or
	// replaced because a newer version was written.
	superseded func(object string)
}

func newNode(deps Deps, cfg Config, js jetstream.JetStream, kv, nodesKV jetstream.KeyValue, store jetstream.ObjectStore) (*node, error) {
	c, err := newCodec(cfg.CompressAbove, cfg.Workers)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	n := &node{
		cfg: cfg, log: deps.Log.With().Str("node_id", cfg.ID).Logger(), nc: deps.NC, js: js,
		kv: kv, nodesKV: nodesKV, store: store, codec: c, host: host, started: time.Now().UTC(),
		tooLarge: map[string]uint64{}, flights: map[string]*flight{},
	}
	n.lru = lru.New(cfg.MaxBytes, func(string, lru.Entry) { n.evictions.Add(1) })
	n.versions = watch.NewVersions(kv)
	n.versions.OnChange = n.invalidate
	n.versions.OnError = func(err error) { n.log.Warn().Err(err).Msg("version watch lost") }
	n.members = watch.NewNodes(nodesKV)
	n.members.OnChange = func(nodes []string) {
		dropped := n.dropUnowned(nodes)
		n.log.Info().Strs("nodes", nodes).Int("dropped", dropped).Msg("cache nodes changed")
	}
	n.members.OnError = func(err error) { n.log.Warn().Err(err).Msg("node watch lost") }
	return n, nil
}

// replyHeaderRoom is kept free in a reply for its headers.
const replyHeaderRoom = 4 << 10

// maxObject is the largest tile a reply may carry: MaxObjectBytes, within
// the server's max payload (known once connected).
func (n *node) maxObject() int {
	limit := int(n.nc.MaxPayload()) - replyHeaderRoom
	if limit <= 0 {
		limit = 1<<20 - replyHeaderRoom // the NATS default, before a connection
	}
	if n.cfg.MaxObjectBytes > 0 && n.cfg.MaxObjectBytes < limit {
		return n.cfg.MaxObjectBytes
	}
	return limit
}

// run serves until ctx is done; see the package doc for the states.
func (n *node) run(ctx context.Context) error {
	defer n.codec.close()
	wctx, stopWatches := context.WithCancel(context.Background())
	var watches sync.WaitGroup
	defer func() { stopWatches(); watches.Wait() }()
	watches.Add(2)
	go func() { defer watches.Done(); n.versions.Run(wctx) }()
	go func() { defer watches.Done(); n.members.Run(wctx) }()
	stopReconnects := watch.RestartOnReconnect(n.nc, n.versions, n.members)
	defer stopReconnects()
	if err := n.versions.WaitSynced(ctx); err != nil {
		return nil // stopped while starting
	}
	s, err := n.serve()
	if err != nil {
		return err
	}
	if err := n.register(ctx); err != nil {
		s.stop()
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	n.log.Info().Int64("max_bytes", n.cfg.MaxBytes).Int("max_object_bytes", n.maxObject()).Msg("cache node running")

	var loops sync.WaitGroup
	loops.Add(2)
	go func() { defer loops.Done(); n.heartbeat(ctx) }()
	go func() { defer loops.Done(); n.publishStatsEvery(ctx) }()
	<-ctx.Done()
	loops.Wait()
	if err := n.deregister(ctx); err != nil {
		n.log.Warn().Err(err).Msg("registration not removed")
	}
	s.stop()
	n.publishStats(ctx)
	n.log.Info().Msg("cache node stopped")
	return nil
}

// invalidate drops an entry older than a version the watch announces.
func (n *node) invalidate(ch watch.Change) {
	n.mu.Lock()
	delete(n.tooLarge, ch.Object)
	e, ok := n.lru.Peek(ch.Object)
	dropped := ok && (ch.Deleted || e.Version < ch.Version)
	if dropped {
		n.lru.Remove(ch.Object)
	}
	n.mu.Unlock()
	if dropped {
		n.invalidations.Add(1)
		if n.superseded != nil {
			n.superseded(ch.Object)
		}
	}
}

// lookup returns the held bytes of object if they are at least minV and
// the version watch is live. Older bytes are dropped.
func (n *node) lookup(object string, minV uint64) ([]byte, uint64, bool, error) {
	if !n.versions.Synced() {
		return nil, 0, false, nil
	}
	n.mu.Lock()
	e, ok := n.lru.Get(object)
	if ok && e.Version < minV {
		n.lru.Remove(object)
		ok = false
	}
	n.mu.Unlock()
	if !ok {
		return nil, 0, false, nil
	}
	data, err := n.codec.unpack(e)
	if err != nil {
		n.mu.Lock()
		n.lru.Remove(object)
		n.mu.Unlock()
		return nil, 0, false, fmt.Errorf("entry %q: %w", object, err)
	}
	return data, e.Version, true, nil
}

// hold stores version v of object unless a version at least as new is
// held or known; it reports whether it did. It replaces an older entry.
func (n *node) hold(object string, v uint64, data []byte) bool {
	if !n.versions.Synced() || v < n.versions.Latest(object) {
		return false
	}
	e := n.codec.pack(v, data)
	n.mu.Lock()
	old, had := n.lru.Peek(object)
	if (had && old.Version >= v) || v < n.versions.Latest(object) {
		n.mu.Unlock()
		return false
	}
	n.lru.Add(object, e)
	n.mu.Unlock()
	if had && n.superseded != nil {
		n.superseded(object)
	}
	return true
}

// dropUnowned drops the entries whose owner is now another node (one that
// joined), so that memory goes to the tiles clients will ask this node
// for. A list without this node (its own registration not seen yet, or
// lapsed) drops nothing. It returns how many entries went.
func (n *node) dropUnowned(nodes []string) int {
	if !slices.Contains(nodes, n.cfg.ID) {
		return 0
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	dropped := 0
	for _, object := range n.lru.Keys() {
		if tilecache.Owner(nodes, object) != n.cfg.ID {
			n.lru.Remove(object)
			dropped++
		}
	}
	return dropped
}
