package tilecache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/tilecache/lru"
	"github.com/geocluster/geocluster/libs/tilecache/watch"
)

// Client reads and writes tiles through the cache. It is safe for
// concurrent use.
type Client struct {
	cfg      Config
	nc       *nats.Conn
	kv       jetstream.KeyValue
	store    jetstream.ObjectStore
	versions *watch.Versions
	nodes    *watch.Nodes

	mu      sync.Mutex // guards near and pending
	near    *lru.Cache
	pending []nearEvent
	cbMu    sync.Mutex // orders OnNear calls

	n              counters
	cancel         context.CancelFunc
	stopReconnects func()
	wg             sync.WaitGroup
	closed         atomic.Bool
}

// Bind binds what the tile cache works on: geo_cache (tile versions),
// geo_cache_nodes (live nodes) and the object store geo_tiles, all
// provisioned by events.EnsureTopology.
func Bind(ctx context.Context, js jetstream.JetStream) (versions, nodes jetstream.KeyValue, tiles jetstream.ObjectStore, err error) {
	if versions, err = js.KeyValue(ctx, events.BucketCache); err != nil {
		return nil, nil, nil, fmt.Errorf("bind %s: %w", events.BucketCache, err)
	}
	if nodes, err = js.KeyValue(ctx, events.BucketCacheNodes); err != nil {
		return nil, nil, nil, fmt.Errorf("bind %s: %w", events.BucketCacheNodes, err)
	}
	if tiles, err = js.ObjectStore(ctx, events.ObjectTiles); err != nil {
		return nil, nil, nil, fmt.Errorf("open object store %s: %w", events.ObjectTiles, err)
	}
	return versions, nodes, tiles, nil
}

// New binds geo_cache, geo_cache_nodes and geo_tiles (provisioned by
// events.EnsureTopology), starts watching the two buckets and returns once
// they are replayed. ctx bounds only the start; the watches run until
// Close, and are recreated whenever nc reconnects.
func New(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, cfg Config) (*Client, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("tile cache config: %w", err)
	}
	kv, nodesKV, store, err := Bind(ctx, js)
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, nc: nc, kv: kv, store: store}
	c.near = lru.New(cfg.NearMaxBytes, func(key string, _ lru.Entry) {
		c.n.nearEvictions.Add(1)
		c.pending = append(c.pending, nearEvent{key, false})
	})
	c.versions = watch.NewVersions(kv)
	c.versions.OnChange = c.invalidate
	c.versions.OnError = cfg.OnError
	c.nodes = watch.NewNodes(nodesKV)
	c.nodes.OnError = cfg.OnError
	wctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.wg.Add(2)
	go func() { defer c.wg.Done(); c.versions.Run(wctx) }()
	go func() { defer c.wg.Done(); c.nodes.Run(wctx) }()
	c.stopReconnects = watch.RestartOnReconnect(nc, c.versions, c.nodes)
	// The replay waits end early if the connection closes for good: the
	// watches could never sync.
	sctx, stopSync := context.WithCancelCause(ctx)
	closed := nc.StatusChanged(nats.CLOSED)
	defer nc.RemoveStatusListener(closed)
	var syncWG sync.WaitGroup
	defer syncWG.Wait()
	defer stopSync(nil)
	syncWG.Go(func() {
		select {
		case <-closed:
			stopSync(nats.ErrConnectionClosed)
		case <-sctx.Done():
		}
	})
	if nc.IsClosed() {
		stopSync(nats.ErrConnectionClosed)
	}
	ctx = sctx
	if err := c.versions.WaitSynced(ctx); err != nil {
		err = errors.Join(err, context.Cause(ctx))
		_ = c.Close()
		return nil, fmt.Errorf("replay %s: %w", events.BucketCache, err)
	}
	if err := c.nodes.WaitSynced(ctx); err != nil {
		err = errors.Join(err, context.Cause(ctx))
		_ = c.Close()
		return nil, fmt.Errorf("replay %s: %w", events.BucketCacheNodes, err)
	}
	return c, nil
}

// Close stops the watches. It does not close the connection.
func (c *Client) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.stopReconnects()
	c.cancel()
	c.wg.Wait()
	return nil
}

// Get returns object's bytes: from the near-cache, a cache node or the
// store, never older than a version of object the client has seen. The
// bytes are shared with the near-cache: do not modify them.
func (c *Client) Get(ctx context.Context, object string) ([]byte, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	if !events.ValidObjectName(object) {
		return nil, fmt.Errorf("%w: %q", ErrInvalidObject, object)
	}
	minV := c.versions.Latest(object)
	if data, ok := c.nearGet(object, minV); ok {
		c.n.nearHits.Add(1)
		return data, nil
	}
	data, v, err := c.fetch(ctx, object, minV)
	if err != nil {
		return nil, err
	}
	c.nearFill(object, v, data)
	return data, nil
}

// Put writes data as object: to the store, then a version bump in
// geo_cache, then the near-cache and the owner node. It fails only when the
// store or the bump fails; a failed write-through is counted in Stats. Put
// keeps data: do not modify it afterwards.
func (c *Client) Put(ctx context.Context, object string, data []byte) error {
	if c.closed.Load() {
		return ErrClosed
	}
	if !events.ValidObjectName(object) {
		return fmt.Errorf("%w: %q", ErrInvalidObject, object)
	}
	v, err := Write(ctx, c.kv, c.store, object, data, c.cfg.Writer)
	if err != nil {
		return err
	}
	c.n.writes.Add(1)
	c.n.writeBytes.Add(uint64(len(data)))
	c.versions.Observe(object, v)
	c.nearFill(object, v, data)
	if !c.cfg.NoWriteThrough {
		if err := c.writeThrough(ctx, object, v, data); err != nil {
			c.n.writeThroughErrors.Add(1)
		}
	}
	return nil
}

// Holds reports whether the near-cache holds the latest known version of
// object.
func (c *Client) Holds(object string) bool {
	latest := c.versions.Latest(object)
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.near.Peek(object)
	return ok && e.Version >= latest && c.versions.Synced()
}

// Nodes returns the live cache nodes the client knows of, sorted.
func (c *Client) Nodes() []string { return c.nodes.List() }

// Latest returns the newest version of object the client has seen (0:
// none).
func (c *Client) Latest(object string) uint64 { return c.versions.Latest(object) }
