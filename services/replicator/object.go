package replicator

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/geocluster/geocluster/libs/events"
)

// Errors of object reads.
var (
	// ErrIncomplete: fewer chunks or bytes are stored than the object's
	// description records.
	ErrIncomplete = errors.New("object incomplete")
	// ErrDigestMismatch: the bytes do not hash to the recorded digest.
	ErrDigestMismatch = errors.New("object digest mismatch")
)

// requestTimeout bounds a JetStream API request made without a deadline.
const requestTimeout = 5 * time.Second

// Digest formats a SHA-256 sum as object descriptions record it:
// "SHA-256=<base64url, padded>".
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "SHA-256=" + base64.URLEncoding.EncodeToString(sum[:])
}

// readObject reads the chunks info describes from bucket's stream and
// checks their count, size and digest. It waits at most wait for each
// batch of chunks, so a missing chunk ends the read with ErrIncomplete
// instead of blocking.
func readObject(ctx context.Context, js jetstream.JetStream, bucket string, info *jetstream.ObjectInfo, wait time.Duration) ([]byte, error) {
	var buf bytes.Buffer
	if info.Chunks > 0 {
		cons, err := js.OrderedConsumer(ctx, events.ObjectStream(bucket), jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{events.ObjectChunkSubject(bucket, info.NUID)},
		})
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", info.Name, err)
		}
		buf.Grow(int(info.Size))
		for got := uint32(0); got < info.Chunks; {
			wctx, cancel := context.WithTimeout(ctx, wait)
			batch, err := cons.Fetch(int(min(info.Chunks-got, 256)), jetstream.FetchContext(wctx))
			if err != nil {
				cancel()
				return nil, fmt.Errorf("read %s: %w", info.Name, err)
			}
			n := uint32(0)
			for m := range batch.Messages() {
				buf.Write(m.Data())
				n++
			}
			cancel()
			if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
				return nil, fmt.Errorf("read %s: %w", info.Name, err)
			}
			if ctx.Err() != nil {
				return nil, fmt.Errorf("read %s: %w", info.Name, ctx.Err())
			}
			if n == 0 {
				return nil, fmt.Errorf("read %s: %d of %d chunks: %w", info.Name, got, info.Chunks, ErrIncomplete)
			}
			got += n
		}
	}
	data := buf.Bytes()
	if uint64(len(data)) != info.Size {
		return nil, fmt.Errorf("read %s: %d of %d bytes: %w", info.Name, len(data), info.Size, ErrIncomplete)
	}
	if d := Digest(data); d != info.Digest {
		return nil, fmt.Errorf("read %s: %s, recorded %s: %w", info.Name, d, info.Digest, ErrDigestMismatch)
	}
	return data, nil
}

// ReadConsistent reads object name of bucket as the stream's leader has it
// and verifies it. A plain object store Get reads the description by direct
// get, which any replica may answer (object stores are created with
// AllowDirect), so right after another client's write it may return the
// previous version. ReadConsistent asks the leader instead
// ($JS.API.STREAM.MSG.GET), so it sees every write acknowledged before it
// was called; the chunks of a version never change once its description is
// stored, so any replica may serve them, and the digest is checked.
func ReadConsistent(ctx context.Context, js jetstream.JetStream, bucket, name string) (*jetstream.ObjectInfo, []byte, error) {
	info, err := leaderInfo(ctx, js, bucket, name)
	if err != nil {
		return nil, nil, err
	}
	data, err := readObject(ctx, js, bucket, info, DefaultChunkWait)
	if err != nil {
		return nil, nil, err
	}
	return info, data, nil
}

// leaderInfo reads the description of a live object through the stream
// leader.
func leaderInfo(ctx context.Context, js jetstream.JetStream, bucket, name string) (*jetstream.ObjectInfo, error) {
	info, err := leaderMeta(ctx, js, bucket, name)
	if err != nil {
		return nil, err
	}
	if info.Deleted {
		return nil, fmt.Errorf("get %s/%s: %w", bucket, name, jetstream.ErrObjectNotFound)
	}
	return info, nil
}

// leaderMeta reads the last description of an object, deleted or not,
// through the stream leader. ErrObjectNotFound means there is none at all.
func leaderMeta(ctx context.Context, js jetstream.JetStream, bucket, name string) (*jetstream.ObjectInfo, error) {
	// Only the leader answers: without one the request would wait forever.
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, requestTimeout)
		defer cancel()
	}
	req, _ := json.Marshal(map[string]string{"last_by_subj": events.ObjectMetaSubject(bucket, name)})
	msg, err := js.Conn().RequestWithContext(ctx, events.JSAPIStreamMsgGet(events.ObjectStream(bucket)), req)
	if err != nil {
		return nil, fmt.Errorf("get %s/%s: %w", bucket, name, err)
	}
	var resp struct {
		Message *struct {
			Data []byte `json:"data"`
		} `json:"message"`
		Error *jetstream.APIError `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return nil, fmt.Errorf("get %s/%s: %w", bucket, name, err)
	}
	if resp.Error != nil {
		if resp.Error.ErrorCode == jetstream.JSErrCodeMessageNotFound {
			return nil, fmt.Errorf("get %s/%s: %w", bucket, name, jetstream.ErrObjectNotFound)
		}
		return nil, fmt.Errorf("get %s/%s: %w", bucket, name, resp.Error)
	}
	if resp.Message == nil {
		return nil, fmt.Errorf("get %s/%s: empty reply", bucket, name)
	}
	var info jetstream.ObjectInfo
	if err := json.Unmarshal(resp.Message.Data, &info); err != nil {
		return nil, fmt.Errorf("decode %s/%s: %w", bucket, name, err)
	}
	return &info, nil
}
