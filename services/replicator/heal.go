package replicator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/geocluster/geocluster/libs/events"
)

// healer moves the replicas of servers that stay offline. It lives as long
// as Run, so a replica that regains the lease remembers what it was doing;
// one goroutine of the current tenure owns it.
type healer struct {
	js  jetstream.JetStream
	cfg Config
	log zerolog.Logger
	rep *reporter

	// offline: server name -> when it was first seen offline.
	offline map[string]time.Time
	// lost: servers whose peer_lost was published.
	lost map[string]bool
	// asked: "<stream>/<peer>" -> when the move was requested.
	asked map[string]time.Time
	// refused: "<stream>/<peer>" whose refusal was logged.
	refused map[string]bool
	// moving: stream -> when its lost peer was first seen offline.
	moving map[string]time.Time
}

func newHealer(js jetstream.JetStream, cfg Config, log zerolog.Logger) *healer {
	return &healer{
		js: js, cfg: cfg, log: log,
		offline: map[string]time.Time{}, lost: map[string]bool{}, asked: map[string]time.Time{},
		refused: map[string]bool{}, moving: map[string]time.Time{},
	}
}

// run checks every CheckEvery until ctx is done, reporting with rep. The
// first check of a tenure also takes over any stream below its target as
// moving: a previous holder may have moved it already.
func (h *healer) run(ctx context.Context, rep *reporter) {
	h.rep = rep
	t := time.NewTicker(h.cfg.CheckEvery)
	defer t.Stop()
	first := true
	for {
		h.check(ctx, first)
		first = false
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// streams returns the names of the streams to heal.
func (h *healer) streams(ctx context.Context) []string {
	if len(h.cfg.Streams) > 0 {
		return h.cfg.Streams
	}
	var names []string
	l := h.js.StreamNames(ctx)
	for n := range l.Name() {
		names = append(names, n)
	}
	if err := l.Err(); err != nil {
		h.log.Warn().Err(err).Msg("list streams")
	}
	slices.Sort(names)
	return names
}

// check reads every stream's replicas once and acts on what it finds.
func (h *healer) check(ctx context.Context, adopt bool) {
	offNow := map[string][]string{} // server -> streams it is an offline replica of
	var infos []*jetstream.StreamInfo
	for _, name := range h.streams(ctx) {
		s, err := h.js.Stream(ctx, name)
		if err != nil {
			if ctx.Err() == nil {
				h.log.Debug().Err(err).Str("stream", name).Msg("stream info")
			}
			continue
		}
		info := s.CachedInfo()
		if info.Config.Replicas <= 1 || info.Cluster == nil {
			continue
		}
		infos = append(infos, info)
		for _, r := range info.Cluster.Replicas {
			if r.Offline {
				offNow[r.Name] = append(offNow[r.Name], name)
			}
		}
	}
	now := time.Now()
	if adopt {
		for _, info := range infos {
			if _, ok := h.moving[info.Config.Name]; !ok && !whole(info) {
				h.moving[info.Config.Name] = now
			}
		}
	}
	for peer := range h.offline {
		if _, still := offNow[peer]; !still {
			delete(h.offline, peer) // back, or no longer a replica of anything
			delete(h.lost, peer)
		}
	}
	for peer, streams := range offNow {
		first, seen := h.offline[peer]
		if !seen {
			h.offline[peer] = now
			first = now
			h.log.Info().Str("peer", peer).Strs("streams", streams).Msg("replica offline")
		}
		if now.Sub(first) < h.cfg.OfflineGrace {
			continue
		}
		if !h.lost[peer] {
			h.lost[peer] = true
			h.log.Warn().Str("peer", peer).Strs("streams", streams).Dur("offline", now.Sub(first)).Msg("peer lost")
			h.rep.publish(ctx, events.ReplicatorEvent{Kind: events.ReplicatorPeerLost, Peer: peer, Streams: streams, OfflineMS: now.Sub(first).Milliseconds()})
		}
		for _, stream := range streams {
			h.move(ctx, stream, peer, first, now)
		}
	}
	for _, info := range infos {
		name := info.Config.Name
		since, ok := h.moving[name]
		if !ok || !whole(info) {
			continue
		}
		delete(h.moving, name)
		for k := range h.asked {
			if strings.HasPrefix(k, name+"/") {
				delete(h.asked, k)
				delete(h.refused, k)
			}
		}
		h.log.Info().Str("stream", name).Int("replicas", info.Config.Replicas).Dur("after", now.Sub(since)).Msg("replication restored")
		h.rep.publish(ctx, events.ReplicatorEvent{Kind: events.ReplicatorReplicationRestored, Stream: name, Replicas: info.Config.Replicas, RestoredMS: now.Sub(since).Milliseconds()})
	}
}

// move asks the meta leader to replace peer's replica of stream, at most
// once per grace period.
func (h *healer) move(ctx context.Context, stream, peer string, first, now time.Time) {
	key := stream + "/" + peer
	if at, ok := h.asked[key]; ok && now.Sub(at) < h.cfg.OfflineGrace+h.cfg.CheckEvery {
		return
	}
	if err := removePeer(ctx, h.js, stream, peer); err != nil {
		if !h.refused[key] && ctx.Err() == nil {
			h.refused[key] = true
			h.log.Warn().Err(err).Str("stream", stream).Str("peer", peer).Msg("replica not moved yet; retrying every check")
		}
		return
	}
	h.asked[key] = now
	if _, ok := h.moving[stream]; !ok {
		h.moving[stream] = first
	}
	h.log.Info().Str("stream", stream).Str("peer", peer).Msg("replica moved")
	h.rep.publish(ctx, events.ReplicatorEvent{Kind: events.ReplicatorReplicaMoved, Stream: stream, Peer: peer})
}

// whole reports whether a stream has its target replicas, all current.
func whole(info *jetstream.StreamInfo) bool {
	c := info.Cluster
	if c == nil || c.Leader == "" || len(c.Replicas)+1 < info.Config.Replicas {
		return false
	}
	for _, r := range c.Replicas {
		if r.Offline || !r.Current {
			return false
		}
	}
	return true
}

// removePeer asks the meta leader to drop peer (a server name) from
// stream's group and place a new replica, with the stream's consumers, on a
// healthy server. The meta leader refuses when no server can take it.
func removePeer(ctx context.Context, js jetstream.JetStream, stream, peer string) error {
	req, _ := json.Marshal(map[string]string{"peer": peer})
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	msg, err := js.Conn().RequestWithContext(rctx, events.JSAPIStreamPeerRemove(stream), req)
	if err != nil {
		return fmt.Errorf("remove peer %s of %s: %w", peer, stream, err)
	}
	var resp struct {
		Success bool                `json:"success"`
		Error   *jetstream.APIError `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return fmt.Errorf("remove peer %s of %s: %w", peer, stream, err)
	}
	if resp.Error != nil {
		return fmt.Errorf("remove peer %s of %s: %w", peer, stream, resp.Error)
	}
	if !resp.Success {
		return fmt.Errorf("remove peer %s of %s: %w", peer, stream, errors.New("not done"))
	}
	return nil
}
