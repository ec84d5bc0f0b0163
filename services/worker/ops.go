package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/tilecache"
)

// PlatformRegistry returns a registry holding the platform's own ops, the
// ones events.PlatformOps names: noop, sleep, fail and checksum. Ops reach
// JetStream through Task.JS, so the registry is not tied to a connection.
func PlatformRegistry() *Registry {
	r := NewRegistry()
	for name, op := range map[string]Op{
		events.OpNoop:     noop,
		events.OpSleep:    sleep,
		events.OpFail:     fail,
		events.OpChecksum: checksum,
		// The raster pipeline's tile ops (tileops.go).
		events.OpTileCut:       tileCut,
		events.OpTileHillshade: tileTerrain,
		events.OpTileSlope:     tileTerrain,
		events.OpTileBandMath:  tileBandMath,
		events.OpTileAssemble:  tileAssemble,
		events.OpTileXYZ:       tileXYZ,
	} {
		// Names are distinct constants: Register cannot fail here.
		_ = r.Register(name, op)
	}
	return r
}

// decodeParams decodes an op's params; a decode error is permanent.
func decodeParams(t Task, v any) error {
	if err := events.DecodeParams(t.Params, v); err != nil {
		return Permanent(fmt.Errorf("params of %s: %w", t.Op, err))
	}
	return nil
}

// noop succeeds at once with no result.
func noop(context.Context, Task) (json.RawMessage, error) { return nil, nil }

// sleep waits params.duration_ms, or until ctx is done.
func sleep(ctx context.Context, t Task) (json.RawMessage, error) {
	var p events.SleepParams
	if err := decodeParams(t, &p); err != nil {
		return nil, err
	}
	if p.DurationMS < 0 {
		return nil, Permanent(fmt.Errorf("params of %s: duration_ms must not be negative", t.Op))
	}
	timer := time.NewTimer(time.Duration(p.DurationMS) * time.Millisecond)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// fail fails with params.message, or succeeds from attempt
// params.succeed_on_attempt on when that is set.
func fail(_ context.Context, t Task) (json.RawMessage, error) {
	var p events.FailParams
	if err := decodeParams(t, &p); err != nil {
		return nil, err
	}
	if p.SucceedOnAttempt > 0 && t.Attempt >= p.SucceedOnAttempt {
		return nil, nil
	}
	msg := p.Message
	if msg == "" {
		msg = "failed on request"
	}
	return nil, errors.New(msg)
}

// checksum streams params.object from geo_tiles through SHA-256.
func checksum(ctx context.Context, t Task) (json.RawMessage, error) {
	var p events.ChecksumParams
	if err := decodeParams(t, &p); err != nil {
		return nil, err
	}
	if p.Object == "" {
		return nil, Permanent(fmt.Errorf("params of %s: object is required", t.Op))
	}
	ctx, cancel := context.WithTimeout(ctx, tilecache.ReadTimeout) // a reply lost with a dying node fails the read
	defer cancel()
	store, err := t.JS.ObjectStore(ctx, events.ObjectTiles)
	if err != nil {
		return nil, fmt.Errorf("open object store %s: %w", events.ObjectTiles, err)
	}
	obj, err := store.Get(ctx, p.Object)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, Permanent(fmt.Errorf("object %q not found in %s", p.Object, events.ObjectTiles))
	}
	if err != nil {
		return nil, fmt.Errorf("get object %q: %w", p.Object, err)
	}
	defer obj.Close()
	h := sha256.New()
	n, err := io.Copy(h, obj)
	if err != nil {
		return nil, fmt.Errorf("read object %q: %w", p.Object, err)
	}
	out, err := json.Marshal(events.ChecksumResult{
		Object: p.Object,
		Size:   uint64(n),
		SHA256: hex.EncodeToString(h.Sum(nil)),
	})
	if err != nil {
		return nil, fmt.Errorf("encode checksum result: %w", err)
	}
	return out, nil
}
