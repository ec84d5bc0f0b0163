package cache

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/geocluster/geocluster/libs/events"
)

// stats returns the node's statistics now.
func (n *node) stats() events.CacheStats {
	s := events.CacheStats{
		V: events.Version, Node: n.cfg.ID,
		Hits: n.hits.Load(), Misses: n.misses.Load(),
		Evictions: n.evictions.Load(), Invalidations: n.invalidations.Load(),
		CompressionRatio: 1, At: time.Now().UTC(),
	}
	n.mu.Lock()
	s.Entries, s.Bytes, s.RawBytes, s.Compressed = n.lru.Len(), n.lru.StoredBytes(), n.lru.RawBytes(), n.lru.Compressed()
	n.mu.Unlock()
	if s.RawBytes > 0 {
		s.CompressionRatio = float64(s.Bytes) / float64(s.RawBytes)
	}
	return s
}

// publishStatsEvery publishes the statistics every StatsInterval until ctx
// is done.
func (n *node) publishStatsEvery(ctx context.Context) {
	t := time.NewTicker(n.cfg.StatsInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n.publishStats(ctx)
		}
	}
}

// publishStats publishes one statistics event, kept in EVENTS.
func (n *node) publishStats(ctx context.Context) {
	s := n.stats()
	data, err := json.Marshal(s)
	if err != nil {
		n.log.Warn().Err(err).Msg("stats not encoded")
		return
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	id := n.cfg.ID + "." + strconv.FormatInt(s.At.UnixNano(), 10)
	if _, err := n.js.Publish(pctx, events.CacheStatsSubject(n.cfg.ID), data, jetstream.WithMsgID(id)); err != nil {
		n.log.Warn().Err(err).Msg("stats not published")
	}
}
