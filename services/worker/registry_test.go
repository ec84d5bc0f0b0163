package worker_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/natstest"
	"github.com/geocluster/geocluster/services/worker"
)

func TestPlatformRegistryMatchesCatalog(t *testing.T) {
	t.Parallel()
	assert.Equal(t, events.PlatformOps().Names(), worker.PlatformRegistry().Names())
}

func TestRegisterRejectsBadOps(t *testing.T) {
	t.Parallel()
	r := worker.NewRegistry()
	op := func(context.Context, worker.Task) (json.RawMessage, error) { return nil, nil }
	require.NoError(t, r.Register("a", op))
	assert.ErrorIs(t, r.Register("a", op), worker.ErrDuplicateOp)
	assert.Error(t, r.Register("", op))
	assert.Error(t, r.Register("b", nil))
	assert.Equal(t, []string{"a"}, r.Names())
}

func TestPermanent(t *testing.T) {
	t.Parallel()
	base := errors.New("bad params")
	p := worker.Permanent(base)
	assert.True(t, worker.IsPermanent(p))
	assert.True(t, worker.IsPermanent(fmt.Errorf("op x: %w", p)), "wrapped")
	assert.ErrorIs(t, p, base)
	assert.Equal(t, "bad params", p.Error())
	assert.Same(t, p, worker.Permanent(p), "marking twice is a no-op")
	assert.False(t, worker.IsPermanent(base))
	assert.NoError(t, worker.Permanent(nil))
}

// runOp runs an op of the platform registry outside a worker.
func runOp(ctx context.Context, t *testing.T, js jetstream.JetStream, m events.TaskMessage) (json.RawMessage, error) {
	t.Helper()
	op, ok := worker.PlatformRegistry().Lookup(m.Op)
	require.True(t, ok, "op %s registered", m.Op)
	return op(ctx, worker.Task{TaskMessage: m, JS: js, Tiles: worker.ObjectTiles(js)})
}

func TestSleepHonoursContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := runOp(ctx, t, nil, task("ops", "sleep", events.OpSleep, `{"duration_ms":3600000}`))
	assert.ErrorIs(t, err, context.Canceled)
	_, err = runOp(context.Background(), t, nil, task("ops", "sleep", events.OpSleep, `{"duration_ms":1}`))
	assert.NoError(t, err)
}

func TestFailSucceedsFromAttempt(t *testing.T) {
	t.Parallel()
	m := task("ops", "fail", events.OpFail, `{"message":"no","succeed_on_attempt":3}`)
	for attempt, wantErr := range map[int]bool{1: true, 2: true, 3: false, 4: false} {
		m.Attempt = attempt
		_, err := runOp(context.Background(), t, nil, m)
		assert.Equal(t, wantErr, err != nil, "attempt %d", attempt)
		if err != nil {
			assert.Equal(t, "no", err.Error())
			assert.False(t, worker.IsPermanent(err))
		}
	}
}

func TestChecksumStreamsObject(t *testing.T) {
	t.Parallel()
	_, js := natstest.Provisioned(t, natstest.Topology())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store, err := js.ObjectStore(ctx, events.ObjectTiles)
	require.NoError(t, err)
	content := strings.Repeat("geotiff-bytes ", 40000) // several chunks
	_, err = store.PutString(ctx, "tiles/a.tif", content)
	require.NoError(t, err)

	out, err := runOp(ctx, t, js, task("ops", "sum", events.OpChecksum, `{"object":"tiles/a.tif"}`))
	require.NoError(t, err)
	var got events.ChecksumResult
	require.NoError(t, json.Unmarshal(out, &got))
	sum := sha256.Sum256([]byte(content))
	assert.Equal(t, events.ChecksumResult{Object: "tiles/a.tif", Size: uint64(len(content)), SHA256: hex.EncodeToString(sum[:])}, got)

	_, err = runOp(ctx, t, js, task("ops", "sum", events.OpChecksum, `{"object":"tiles/none.tif"}`))
	require.Error(t, err)
	assert.True(t, worker.IsPermanent(err))
	assert.Contains(t, err.Error(), "tiles/none.tif")

	_, err = runOp(ctx, t, js, task("ops", "sum", events.OpChecksum, `{}`))
	assert.True(t, worker.IsPermanent(err), "object is required")
}
