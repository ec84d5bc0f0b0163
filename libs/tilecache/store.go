package tilecache

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/geocluster/geocluster/libs/events"
)

// staleRetries bounds how often Load asks the version store again when it
// is behind the version the reader knows of (a lagging replica).
const staleRetries = 6

// version is what geo_cache says of an object now.
type version struct {
	events.CacheVersion
	rev     uint64
	created time.Time // when the server stored the bump
}

// current returns the value and revision of object's key (zero when none).
func current(ctx context.Context, kv jetstream.KeyValue, object string) (version, error) {
	ctx, cancel := context.WithTimeout(ctx, kvTimeout)
	defer cancel()
	e, err := kv.Get(ctx, events.CacheKey(object))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return version{}, nil
	}
	if err != nil {
		return version{}, fmt.Errorf("get version of %q: %w", object, err)
	}
	cur := version{rev: e.Revision(), created: e.Created()}
	_ = json.Unmarshal(e.Value(), &cur.CacheVersion) // a foreign writer's value: no digest to check
	return cur, nil
}

// Load reads object from store and returns its bytes with their version:
// the version read from kv before the bytes, so the bytes are that version
// or newer (a writer stores the bytes before it bumps the version). When
// the version records a digest (Write does), bytes that do not match it
// are taken only when the store wrote them after the bump (a newer write
// whose bump is on its way, or whose writer died before it); older ones (a
// store replica behind the version: object store reads may be served by
// any replica) are read again. Load fails with ErrStale when kv or the
// store stay behind (minVersion, the version's bytes) after retries, and
// with ErrNotFound when the object is not in the store. The order of the
// bump and of the bytes is judged by the server timestamps of the two
// messages; in a cluster that is the clocks of two stream leaders.
func Load(ctx context.Context, kv jetstream.KeyValue, store jetstream.ObjectStore, object string, minVersion uint64) ([]byte, uint64, error) {
	return LoadAtMost(ctx, kv, store, object, minVersion, 0)
}

// LoadAtMost is Load of an object of at most limit bytes (0: any size): a
// larger one is not read, and LoadAtMost returns ErrTooLarge with the
// version it found. A cache node, which cannot send a reply larger than a
// message, so learns of such an object from its info alone.
func LoadAtMost(ctx context.Context, kv jetstream.KeyValue, store jetstream.ObjectStore, object string, minVersion uint64, limit int) ([]byte, uint64, error) {
	for i := 0; ; i++ {
		cur, err := current(ctx, kv, object)
		if err != nil {
			return nil, 0, err
		}
		var why string
		if cur.rev < minVersion {
			why = fmt.Sprintf("version %d, at least %d known", cur.rev, minVersion)
		} else {
			data, info, err := read(ctx, store, object, limit)
			if errors.Is(err, ErrTooLarge) {
				return nil, cur.rev, err
			}
			if err != nil {
				return nil, 0, err
			}
			if cur.SHA256 == "" || hexDigest(info.Digest) == cur.SHA256 || info.ModTime.After(cur.created) {
				return data, cur.rev, nil
			}
			why = fmt.Sprintf("the store holds bytes older than version %d", cur.rev)
		}
		if i == staleRetries {
			return nil, 0, fmt.Errorf("load %q: %s: %w", object, why, ErrStale)
		}
		select {
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		case <-time.After(time.Duration(5<<i) * time.Millisecond):
		}
	}
}

// read returns an object's bytes and its info: the digest the store
// records (it checks the bytes against it) and when the bytes were stored.
// With a limit (not 0), an object larger than limit bytes is not read:
// ErrTooLarge.
func read(ctx context.Context, store jetstream.ObjectStore, object string, limit int) ([]byte, *jetstream.ObjectInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, ReadTimeout)
	defer cancel()
	res, err := store.Get(ctx, object)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, nil, fmt.Errorf("load %q: %w (%w)", object, ErrNotFound, jetstream.ErrObjectNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("get object %q: %w", object, err)
	}
	defer func() { _ = res.Close() }()
	info, err := res.Info()
	if err != nil {
		return nil, nil, fmt.Errorf("get object %q: %w", object, err)
	}
	if limit > 0 && info.Size > uint64(limit) {
		return nil, info, fmt.Errorf("load %q: %d bytes, at most %d: %w", object, info.Size, limit, ErrTooLarge)
	}
	var b bytes.Buffer
	b.Grow(int(info.Size))
	if _, err := b.ReadFrom(res); err != nil {
		return nil, nil, fmt.Errorf("read object %q: %w", object, err)
	}
	return b.Bytes(), info, nil
}

// Each store operation has its own deadline, shorter than a long task's
// (ReadTimeout, WriteTimeout, kvTimeout):
// when a NATS node dies, the reply to a request it had taken is lost, and a
// request bound only by the task's deadline (10 minutes by default) would
// hold the task that long. With these the operation fails, the task fails
// and is retried.
const (
	// ReadTimeout bounds reading one object (2 minutes: a 250 MB raster
	// reads in seconds).
	ReadTimeout = 2 * time.Minute
	// kvTimeout bounds one version bump.
	kvTimeout = 10 * time.Second
)

// WriteTimeout bounds writing size bytes: 30 s and a second per MiB.
func WriteTimeout(size int) time.Duration {
	return 30*time.Second + time.Duration(size>>20)*time.Second
}

// hexDigest turns the object store's digest ("SHA-256=<base64url>") into
// hex, as geo_cache records it ("" when it does not decode).
func hexDigest(digest string) string {
	sum, err := jetstream.DecodeObjectDigest(digest)
	if err != nil {
		return ""
	}
	return hex.EncodeToString(sum)
}

// Write stores data as object and then bumps the object's version in kv; it
// returns the new version. The value of the key records size, digest and
// writer (events.CacheVersion). A writer that is not a Client (a tool, a
// worker in another language) keeps caches coherent by doing the same: put
// the object, then put any value under $KV.geo_cache.<CacheKey(object)>.
func Write(ctx context.Context, kv jetstream.KeyValue, store jetstream.ObjectStore, object string, data []byte, writer string) (uint64, error) {
	pctx, cancel := context.WithTimeout(ctx, WriteTimeout(len(data)))
	defer cancel()
	info, err := store.PutBytes(pctx, object, data)
	if err != nil {
		return 0, fmt.Errorf("put object %q: %w", object, err)
	}
	// The store hashed the bytes as it wrote them: its digest is ours.
	val, err := json.Marshal(events.CacheVersion{
		V: events.Version, Object: object, Size: len(data),
		SHA256: hexDigest(info.Digest), Writer: writer, At: time.Now().UTC(),
	})
	if err != nil {
		return 0, fmt.Errorf("encode version of %q: %w", object, err)
	}
	kctx, kcancel := context.WithTimeout(ctx, kvTimeout)
	defer kcancel()
	rev, err := kv.Put(kctx, events.CacheKey(object), val)
	if err != nil {
		return 0, fmt.Errorf("bump version of %q: %w", object, err)
	}
	return rev, nil
}
