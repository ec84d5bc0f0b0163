package tilecache

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/geocluster/geocluster/libs/events"
)

// headerRoom is what the headers of a reply may take beside the bytes.
const headerRoom = 4 << 10

// errNodeFailed marks a node request that failed in a way another node or
// the store may not.
var errNodeFailed = errors.New("cache node failed")

// fetch reads object from the cache nodes in rank order, then the store.
func (c *Client) fetch(ctx context.Context, object string, minV uint64) ([]byte, uint64, error) {
	ranked := Rank(c.nodes.List(), object)
	if len(ranked) > c.cfg.MaxNodes {
		ranked = ranked[:c.cfg.MaxNodes]
	}
nodes:
	for _, node := range ranked {
		data, v, err := c.askNode(ctx, node, object, minV)
		switch {
		case err == nil:
			c.n.remoteHits.Add(1)
			c.n.remoteBytes.Add(uint64(len(data)))
			return data, v, nil
		case errors.Is(err, ErrNotFound):
			return nil, 0, err
		case errors.Is(err, errTooLarge):
			break nodes // no node can carry it: read the store
		case ctx.Err() != nil:
			return nil, 0, ctx.Err()
		default:
			c.n.nodeErrors.Add(1)
		}
	}
	data, v, err := Load(ctx, c.kv, c.store, object, minV)
	if err != nil {
		return nil, 0, err
	}
	c.n.misses.Add(1)
	c.n.storeBytes.Add(uint64(len(data)))
	return data, v, nil
}

var (
	errTooLarge       = errors.New("too large for a message")
	errObjectNotFound = jetstream.ErrObjectNotFound
)

// askNode sends a get to node.
func (c *Client) askNode(ctx context.Context, node, object string, minV uint64) ([]byte, uint64, error) {
	msg := nats.NewMsg(events.CacheGetSubject(node))
	events.InjectTrace(ctx, msg.Header)
	msg.Header.Set(events.CacheHeaderObject, object)
	if minV > 0 {
		msg.Header.Set(events.CacheHeaderMinVersion, events.FormatCacheVersion(minV))
	}
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	reply, err := c.nc.RequestMsgWithContext(rctx, msg)
	if err != nil {
		return nil, 0, fmt.Errorf("get %q from %s: %w: %w", object, node, errNodeFailed, err)
	}
	status := events.CacheStatus(reply.Header.Get(events.CacheHeaderStatus))
	switch status {
	case events.CacheOK:
		v, err := events.ParseCacheVersion(reply.Header.Get(events.CacheHeaderVersion))
		if err != nil || v < minV {
			return nil, 0, fmt.Errorf("get %q from %s: version %d below %d: %w", object, node, v, minV, errNodeFailed)
		}
		return reply.Data, v, nil
	case events.CacheNotFound:
		return nil, 0, fmt.Errorf("get %q from %s: %w (%w)", object, node, ErrNotFound, errObjectNotFound)
	case events.CacheTooLarge:
		return nil, 0, errTooLarge
	default:
		return nil, 0, fmt.Errorf("get %q from %s: %s %s: %w", object, node, status, reply.Header.Get(events.CacheHeaderError), errNodeFailed)
	}
}

// writeThrough sends version v of object to its owner node.
func (c *Client) writeThrough(ctx context.Context, object string, v uint64, data []byte) error {
	owner := Owner(c.nodes.List(), object)
	if owner == "" || int64(len(data))+headerRoom > c.nc.MaxPayload() {
		return nil
	}
	msg := nats.NewMsg(events.CachePutSubject(owner))
	events.InjectTrace(ctx, msg.Header)
	msg.Header.Set(events.CacheHeaderObject, object)
	msg.Header.Set(events.CacheHeaderVersion, events.FormatCacheVersion(v))
	msg.Data = data
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	reply, err := c.nc.RequestMsgWithContext(rctx, msg)
	if err != nil {
		return fmt.Errorf("put %q to %s: %w", object, owner, err)
	}
	switch s := events.CacheStatus(reply.Header.Get(events.CacheHeaderStatus)); s {
	case events.CacheOK, events.CacheStale, events.CacheTooLarge:
		return nil // stale: a newer version is there; too large: never held
	default:
		return fmt.Errorf("put %q to %s: %s %s", object, owner, s, reply.Header.Get(events.CacheHeaderError))
	}
}
