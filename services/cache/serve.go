package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/tilecache"
)

// server is the node's two subscriptions and the pool of workers that
// answers what they receive. A subscription's handler only queues the
// message; when the pool is busy, messages wait in the subscription
// (pending limits below), not in goroutines.
type server struct {
	subs    []*nats.Subscription
	closed  []chan struct{}
	jobs    chan *nats.Msg
	workers sync.WaitGroup
}

// Pending limits of each subscription: a put carries a whole tile.
const (
	pendingMsgs  = 1 << 16
	pendingBytes = 512 << 20
)

func (n *node) serve() (*server, error) {
	s := &server{jobs: make(chan *nats.Msg, n.cfg.Workers)}
	for range n.cfg.Workers {
		s.workers.Add(1)
		go func() {
			defer s.workers.Done()
			for m := range s.jobs {
				n.handle(m)
			}
		}()
	}
	for _, subj := range []string{events.CacheGetSubject(n.cfg.ID), events.CachePutSubject(n.cfg.ID)} {
		sub, err := n.nc.Subscribe(subj, func(m *nats.Msg) { s.jobs <- m })
		if err != nil {
			s.stop()
			return nil, fmt.Errorf("subscribe %s: %w", subj, err)
		}
		closed := make(chan struct{})
		sub.SetClosedHandler(func(string) { close(closed) })
		if err := sub.SetPendingLimits(pendingMsgs, pendingBytes); err != nil {
			_ = sub.Unsubscribe()
			s.stop()
			return nil, fmt.Errorf("pending limits of %s: %w", subj, err)
		}
		s.subs = append(s.subs, sub)
		s.closed = append(s.closed, closed)
	}
	return s, nil
}

// stop drains the subscriptions (requests already received are answered),
// then lets the workers finish.
func (s *server) stop() {
	for i, sub := range s.subs {
		if err := sub.Drain(); err != nil {
			_ = sub.Unsubscribe()
		}
		<-s.closed[i]
	}
	close(s.jobs)
	s.workers.Wait()
}

// handle answers one get or put.
func (n *node) handle(m *nats.Msg) {
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.LoadTimeout)
	defer cancel()
	// The request carries the caller's trace context (a worker's task):
	// the cache's work is a span of the same trace.
	ctx = events.ExtractTrace(ctx, m.Header)
	verb := "get"
	if m.Subject == events.CachePutSubject(n.cfg.ID) {
		verb = "put"
	}
	ctx, span := otel.Tracer(TracerName).Start(ctx, "cache "+verb, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("geo.object", m.Header.Get(events.CacheHeaderObject)), attribute.String("geo.cache.node", n.cfg.ID)))
	defer span.End()
	var reply *nats.Msg
	if verb == "put" {
		reply = n.put(m)
	} else {
		reply = n.get(ctx, m)
	}
	span.SetAttributes(attribute.String("geo.cache.status", reply.Header.Get(events.CacheHeaderStatus)))
	if m.Reply == "" {
		return
	}
	if err := m.RespondMsg(reply); err != nil {
		n.log.Warn().Err(err).Str("subject", m.Subject).Msg("reply not sent")
	}
}

// TracerName is the OpenTelemetry tracer of the cache node's spans.
const TracerName = "geocluster/cache"

func status(s events.CacheStatus, reason string) *nats.Msg {
	r := nats.NewMsg("")
	r.Header.Set(events.CacheHeaderStatus, string(s))
	if reason != "" {
		r.Header.Set(events.CacheHeaderError, reason)
	}
	return r
}

// get answers geo.cache.<id>.get.
func (n *node) get(ctx context.Context, m *nats.Msg) *nats.Msg {
	object := m.Header.Get(events.CacheHeaderObject)
	if !events.ValidObjectName(object) {
		return status(events.CacheBadRequest, "missing or invalid "+events.CacheHeaderObject)
	}
	minV, err := events.ParseCacheVersion(m.Header.Get(events.CacheHeaderMinVersion))
	if err != nil {
		return status(events.CacheBadRequest, err.Error())
	}
	minV = max(minV, n.versions.Latest(object))
	data, v, ok, err := n.lookup(object, minV)
	if err != nil {
		n.log.Warn().Err(err).Str("object", object).Msg("cache entry dropped")
	}
	if ok {
		n.hits.Add(1)
	} else {
		n.misses.Add(1)
		if n.knownTooLarge(object, minV) {
			return status(events.CacheTooLarge, "")
		}
		data, v, err = n.load(ctx, object, minV)
		switch {
		case errors.Is(err, tilecache.ErrTooLarge):
			return status(events.CacheTooLarge, fmt.Sprintf("%v, at most %d in a reply", err, n.maxObject()))
		case errors.Is(err, tilecache.ErrNotFound):
			return status(events.CacheNotFound, "")
		case err != nil:
			n.log.Warn().Err(err).Str("object", object).Msg("read through failed")
			return status(events.CacheError, err.Error())
		}
	}
	if len(data) > n.maxObject() {
		return status(events.CacheTooLarge, fmt.Sprintf("%d bytes, at most %d in a reply", len(data), n.maxObject()))
	}
	r := status(events.CacheOK, "")
	r.Header.Set(events.CacheHeaderVersion, events.FormatCacheVersion(v))
	r.Data = data
	return r
}

// put answers geo.cache.<id>.put, a write-through.
func (n *node) put(m *nats.Msg) *nats.Msg {
	object := m.Header.Get(events.CacheHeaderObject)
	if !events.ValidObjectName(object) {
		return status(events.CacheBadRequest, "missing or invalid "+events.CacheHeaderObject)
	}
	v, err := events.ParseCacheVersion(m.Header.Get(events.CacheHeaderVersion))
	if err != nil || v == 0 {
		return status(events.CacheBadRequest, "missing or invalid "+events.CacheHeaderVersion)
	}
	if len(m.Data) > n.maxObject() {
		return status(events.CacheTooLarge, fmt.Sprintf("%d bytes, at most %d in a reply", len(m.Data), n.maxObject()))
	}
	if !n.hold(object, v, m.Data) && v < n.versions.Latest(object) {
		return status(events.CacheStale, "")
	}
	return status(events.CacheOK, "")
}
