package replicator_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
)

// tile returns n deterministic pseudo-random bytes.
func tile(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

// recorder collects replicator events from core NATS.
type recorder struct {
	mu  sync.Mutex
	evs []events.ReplicatorEvent
}

func record(t *testing.T, nc *nats.Conn) *recorder {
	t.Helper()
	r := &recorder{}
	sub, err := nc.Subscribe(events.ReplicatorEventsFilter, func(m *nats.Msg) {
		e, err := events.DecodeReplicatorEvent(m.Data)
		if err != nil {
			return
		}
		r.mu.Lock()
		r.evs = append(r.evs, e)
		r.mu.Unlock()
	})
	require.NoError(t, err)
	require.NoError(t, nc.Flush())
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return r
}

// has reports whether an event of kind matched f.
func (r *recorder) has(kind string, f func(events.ReplicatorEvent) bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.evs {
		if e.Kind == kind && (f == nil || f(e)) {
			return true
		}
	}
	return false
}

// corruptLastChunk replaces the last chunk of an object with garbage of the
// same size: the chunk message is deleted and garbage appended on its
// subject, so the chunk count holds and the digest does not.
func corruptLastChunk(t *testing.T, js jetstream.JetStream, bucket string, info *jetstream.ObjectInfo) {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, events.ObjectStream(bucket))
	require.NoError(t, err)
	m, err := s.GetLastMsgForSubject(ctx, events.ObjectChunkSubject(bucket, info.NUID))
	require.NoError(t, err)
	require.NoError(t, s.DeleteMsg(ctx, m.Sequence))
	_, err = js.Publish(ctx, m.Subject, bytes.Repeat([]byte{0xAB}, len(m.Data)))
	require.NoError(t, err)
}

// deleteFirstChunk deletes the first chunk of an object.
func deleteFirstChunk(t *testing.T, js jetstream.JetStream, bucket string, info *jetstream.ObjectInfo) {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, events.ObjectStream(bucket))
	require.NoError(t, err)
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{events.ObjectChunkSubject(bucket, info.NUID)}})
	require.NoError(t, err)
	m, err := c.Next(jetstream.FetchMaxWait(5 * time.Second))
	require.NoError(t, err)
	md, err := m.Metadata()
	require.NoError(t, err)
	require.NoError(t, s.DeleteMsg(ctx, md.Sequence.Stream))
}

// deleteMeta removes the description of an object, as if it were lost.
func deleteMeta(t *testing.T, js jetstream.JetStream, bucket, name string) {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, events.ObjectStream(bucket))
	require.NoError(t, err)
	m, err := s.GetLastMsgForSubject(ctx, events.ObjectMetaSubject(bucket, name))
	if err != nil {
		info, _ := s.Info(ctx, jetstream.WithSubjectFilter(">"))
		t.Log(info.State.Subjects)
	}
	require.NoError(t, err)
	require.NoError(t, s.DeleteMsg(ctx, m.Sequence))
}

const wait = 20 * time.Second
