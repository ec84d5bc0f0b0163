package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/geocluster/geocluster/libs/embedded"
	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/tilecache"
	"github.com/geocluster/geocluster/services/cache"
)

// env is one embedded server, one cache node and the tiles, shared by
// every row.
type env struct {
	srv    *embedded.Server
	dir    string
	nc     *nats.Conn
	js     jetstream.JetStream
	names  []string
	sizes  int
	node   context.CancelFunc
	done   chan error
	nodeNC *nats.Conn
}

const nodeID = "bench"

func startEnv(ctx context.Context, cfg config) (*env, error) {
	dir, err := os.MkdirTemp("", "bench-cache-")
	if err != nil {
		return nil, err
	}
	srv, err := embedded.Start(embedded.Config{StoreDir: dir})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	e := &env{srv: srv, dir: dir}
	if e.nc, err = srv.Connect("bench-writer", false); err != nil {
		e.stop()
		return nil, err
	}
	if e.js, err = jetstream.New(e.nc); err != nil {
		e.stop()
		return nil, err
	}
	if err := events.EnsureTopology(ctx, e.js, events.DefaultTopology()); err != nil {
		e.stop()
		return nil, err
	}
	if e.nodeNC, err = srv.Connect("cache", false); err != nil {
		e.stop()
		return nil, err
	}
	ncfg := cache.DefaultConfig()
	ncfg.ID = nodeID
	ncfg.MaxBytes = 2 * int64(cfg.tiles) * int64(cfg.tile)
	nctx, cancel := context.WithCancel(context.Background())
	e.node, e.done = cancel, make(chan error, 1)
	go func() { e.done <- cache.Run(nctx, cache.Deps{NC: e.nodeNC, Log: zerolog.Nop()}, ncfg) }()

	w, err := e.client(ctx, "bench-writer-client", tilecache.Config{})
	if err != nil {
		e.stop()
		return nil, err
	}
	defer w.close()
	deadline := time.Now().Add(10 * time.Second)
	for len(w.Nodes()) == 0 {
		if time.Now().After(deadline) {
			e.stop()
			return nil, errors.New("cache node not registered after 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := range cfg.tiles {
		data := make([]byte, cfg.tile)
		_, _ = rand.Read(data)
		name := fmt.Sprintf("bench/t_%d_%d.tif", i%8, i/8)
		if err := w.Put(ctx, name, data); err != nil {
			e.stop()
			return nil, err
		}
		e.names = append(e.names, name)
	}
	e.sizes = cfg.tile
	return e, nil
}

// reader is a tile cache client and the object store, on its own
// connection: a stand-in for one worker.
type reader struct {
	*tilecache.Client
	nc    *nats.Conn
	store jetstream.ObjectStore
}

func (r *reader) close() {
	_ = r.Client.Close()
	r.nc.Close()
}

// client returns a reader on a fresh connection.
func (e *env) client(ctx context.Context, name string, cfg tilecache.Config) (*reader, error) {
	nc, err := e.srv.Connect(name, false)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	store, err := js.ObjectStore(ctx, events.ObjectTiles)
	if err != nil {
		nc.Close()
		return nil, err
	}
	c, err := tilecache.New(ctx, nc, js, cfg)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return &reader{Client: c, nc: nc, store: store}, nil
}

// stopNode stops the cache node, which publishes its last statistics.
func (e *env) stopNode() {
	if e.node != nil {
		e.node()
		<-e.done
		e.node = nil
	}
}

func (e *env) stop() {
	e.stopNode()
	for _, nc := range []*nats.Conn{e.nc, e.nodeNC} {
		if nc != nil {
			nc.Close()
		}
	}
	e.srv.Stop()
	_ = os.RemoveAll(e.dir)
}

// nodeStats reads the node's last statistics event from EVENTS.
func (e *env) nodeStats() events.CacheStats {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := e.js.Stream(ctx, events.StreamEvents)
	if err != nil {
		return events.CacheStats{}
	}
	m, err := s.GetLastMsgForSubject(ctx, events.CacheStatsSubject(nodeID))
	if err != nil {
		return events.CacheStats{}
	}
	st, _ := events.DecodeCacheStats(m.Data)
	return st
}
