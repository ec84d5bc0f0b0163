package replicator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/geocluster/geocluster/libs/events"
)

// scrubber verifies the objects of a bucket and repairs them from the
// mirror. It is owned by one goroutine of one tenure.
type scrubber struct {
	js     jetstream.JetStream
	bucket string
	mirror string // "" when there is no mirror
	wait   time.Duration
	log    zerolog.Logger
	rep    *reporter
}

// run scrubs every ScrubEvery until ctx is done.
func (s *scrubber) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rep, err := s.pass(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn().Err(err).Msg("scrub")
			}
			continue
		}
		s.log.Info().Int("objects", rep.Objects).Int("corrupt", rep.Corrupt).Int("missing", rep.Missing).
			Int("repaired", rep.Repaired).Int("unrepaired", rep.Unrepaired).Msg("scrubbed")
	}
}

// pass verifies every live object of the bucket once: it reads it, hashes
// it and compares the digest its description records; with a mirror it
// also looks for objects the mirror holds and the bucket lost. It repairs
// what it can and publishes what it found.
func (s *scrubber) pass(ctx context.Context) (events.ScrubReport, error) {
	start := time.Now()
	rep := events.ScrubReport{Bucket: s.bucket}
	primary, err := s.js.ObjectStore(ctx, s.bucket)
	if err != nil {
		return rep, fmt.Errorf("bind %s: %w", s.bucket, err)
	}
	infos, err := primary.List(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoObjectsFound) {
		return rep, fmt.Errorf("list %s: %w", s.bucket, err)
	}
	for _, info := range infos {
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		rep.Objects++
		_, err := readObject(ctx, s.js, s.bucket, info, s.wait)
		if err == nil {
			rep.OK++
			continue
		}
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		rep.Corrupt++
		s.found(ctx, info.Name, info.Digest, err.Error())
		s.repair(ctx, &rep, info.Name, info.NUID, info.Digest)
	}
	if s.mirror != "" {
		if err := s.missing(ctx, &rep); err != nil {
			return rep, err
		}
	}
	rep.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	s.rep.publish(ctx, events.ReplicatorEvent{Kind: events.ReplicatorScrubbed, Bucket: s.bucket, Scrub: &rep})
	return rep, nil
}

// missing restores the objects the mirror holds that the bucket has no
// description of at all. An object deleted on purpose keeps a deleted
// description, which the mirror copies too, so it is never restored.
func (s *scrubber) missing(ctx context.Context, rep *events.ScrubReport) error {
	mirror, err := s.js.ObjectStore(ctx, s.mirror)
	if err != nil {
		return fmt.Errorf("bind %s: %w", s.mirror, err)
	}
	infos, err := mirror.List(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoObjectsFound) {
		return fmt.Errorf("list %s: %w", s.mirror, err)
	}
	for _, m := range infos {
		_, err := leaderMeta(ctx, s.js, s.bucket, m.Name)
		if !errors.Is(err, jetstream.ErrObjectNotFound) {
			continue // present (checked above), deleted, or unknown: leave it
		}
		rep.Missing++
		s.found(ctx, m.Name, m.Digest, "missing")
		s.repair(ctx, rep, m.Name, "", m.Digest)
	}
	return nil
}

func (s *scrubber) found(ctx context.Context, name, digest, reason string) {
	s.log.Warn().Str("bucket", s.bucket).Str("object", name).Str("reason", reason).Msg("object corrupt")
	s.rep.publish(ctx, events.ReplicatorEvent{Kind: events.ReplicatorObjectCorrupt, Bucket: s.bucket, Object: name, Digest: digest, Reason: reason})
}

// repair rewrites object name from the mirror when the mirror's copy has
// the digest the bucket recorded and reads back intact. nuid is the
// version found bad ("" for a missing object): if the bucket's leader
// holds another version by now, a writer replaced it and nothing is done.
func (s *scrubber) repair(ctx context.Context, rep *events.ScrubReport, name, nuid, digest string) {
	err := s.restore(ctx, name, nuid, digest)
	if err != nil {
		rep.Unrepaired++
		s.log.Warn().Err(err).Str("bucket", s.bucket).Str("object", name).Msg("object not repaired")
		return
	}
	rep.Repaired++
	s.log.Info().Str("bucket", s.bucket).Str("object", name).Str("source", s.mirror).Msg("object repaired")
	s.rep.publish(ctx, events.ReplicatorEvent{Kind: events.ReplicatorObjectRepaired, Bucket: s.bucket, Object: name, Digest: digest, Source: s.mirror})
}

// errNoCopy: the mirror holds no copy with the recorded digest.
var errNoCopy = errors.New("no good copy")

func (s *scrubber) restore(ctx context.Context, name, nuid, digest string) error {
	if s.mirror == "" {
		return fmt.Errorf("%w: no mirror", errNoCopy)
	}
	mirror, err := s.js.ObjectStore(ctx, s.mirror)
	if err != nil {
		return fmt.Errorf("bind %s: %w", s.mirror, err)
	}
	m, err := mirror.GetInfo(ctx, name)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", errNoCopy, s.mirror, err)
	}
	if m.Digest != digest {
		return fmt.Errorf("%w: %s holds %s, want %s", errNoCopy, s.mirror, m.Digest, digest)
	}
	data, err := readObject(ctx, s.js, s.mirror, m, s.wait)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", errNoCopy, s.mirror, err)
	}
	cur, err := leaderMeta(ctx, s.js, s.bucket, name)
	switch {
	case nuid == "" && !errors.Is(err, jetstream.ErrObjectNotFound):
		return fmt.Errorf("%s reappeared: left alone", name)
	case nuid != "" && (err != nil || cur.NUID != nuid || cur.Deleted):
		return fmt.Errorf("%s was rewritten or deleted meanwhile: left alone", name)
	}
	primary, err := s.js.ObjectStore(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("bind %s: %w", s.bucket, err)
	}
	meta := m.ObjectMeta
	info, err := primary.Put(ctx, meta, bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("put %s: %w", name, err)
	}
	if info.Digest != digest {
		return fmt.Errorf("put %s: stored %s, want %s", name, info.Digest, digest)
	}
	return nil
}
