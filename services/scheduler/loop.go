package scheduler

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/geocluster/geocluster/libs/events"
)

type itemKind int

const (
	itemSubmit itemKind = iota
	itemCancel
	itemTaskEvent
	// itemHoldings is a worker's holdings announcement (core NATS: msg is
	// nil, data holds it).
	itemHoldings
	// itemWorker is a registration in geo_workers (info) or its removal.
	itemWorker
)

// item is one input of the loop. msg is acked once the batch that applied
// it is flushed.
type item struct {
	kind itemKind
	msg  jetstream.Msg
	// data of a holdings announcement.
	data []byte
	// worker and info of a registration change; info nil means removed,
	// and expired that the registration lapsed (missed heartbeats) rather
	// than being deleted by a worker that stopped.
	worker  string
	info    *events.WorkerInfo
	expired bool
}

// loop owns the core and does its I/O.
type loop struct {
	core *core
	nc   *nats.Conn
	js   jetstream.JetStream
	log  zerolog.Logger
	in   chan item
	// retries is a min-heap of retry releases by due time.
	retries retryHeap
	// holds receives the workers' holdings announcements (nil without
	// data locality); see subscribeHoldings.
	holds chan *nats.Msg
	// fence is the fencing token of this leadership, carried on every
	// message the loop publishes (events.FencingTokenHeader); "" for none.
	fence string
}

// handBack naks every input waiting in l.in.
func (l *loop) handBack() {
	for {
		select {
		case it := <-l.in:
			if it.msg != nil {
				_ = it.msg.Nak()
			}
		default:
			return
		}
	}
}

// applyHoldings applies every announcement waiting in l.holds.
func (l *loop) applyHoldings() {
	for {
		select {
		case m := <-l.holds:
			l.apply(item{kind: itemHoldings, data: m.Data})
		default:
			return
		}
	}
}

func (l *loop) run(ctx context.Context) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var speculate <-chan time.Time
	if !l.core.cfg.Speculation.Off {
		t := time.NewTicker(l.core.cfg.Speculation.CheckEvery)
		defer t.Stop()
		speculate = t.C
	}
	batch := make([]item, 0, l.core.cfg.MaxBatch)
	for {
		l.armTimer(timer)
		select {
		case <-ctx.Done():
			return nil
		case it := <-l.in:
			batch = append(batch, it)
		case m := <-l.holds:
			l.apply(item{kind: itemHoldings, data: m.Data})
		case <-speculate:
			l.core.speculate()
		case <-timer.C:
		}
	drain:
		for len(batch) < l.core.cfg.MaxBatch {
			select {
			case it := <-l.in:
				batch = append(batch, it)
			default:
				break drain
			}
		}
		// Announcements read before the batch's inputs go first.
		l.applyHoldings()
		var acks []jetstream.Msg
		for _, it := range batch {
			if l.apply(it) {
				acks = append(acks, it.msg)
			}
		}
		l.dueRetries()
		batch = batch[:0]
		out := l.core.endBatch()
		if err := l.flush(ctx, out); err != nil {
			// Only ctx ends a flush early; the unacked inputs come back
			// to whoever runs the scheduler next.
			return nil
		}
		for _, m := range acks {
			if m != nil {
				_ = m.Ack()
			}
		}
		for _, r := range out.timers {
			heap.Push(&l.retries, r)
		}
		for pool := range out.signals {
			_ = l.nc.Publish(events.TaskSignalSubject(pool), nil)
		}
		for d := range out.directed {
			_ = l.nc.Publish(events.DirectedSignalSubject(d.pool, d.worker), nil)
		}
		l.core.forget(out.done)
	}
}

// apply feeds one input to the core. It returns false when the input must
// not be acked (an I/O error: it is redelivered later).
func (l *loop) apply(it item) bool {
	switch it.kind {
	case itemSubmit:
		_, tenant, _ := events.TenantFromJobsSubject(it.msg.Subject())
		var seq uint64
		if md, err := it.msg.Metadata(); err == nil {
			seq = md.Sequence.Stream
		}
		if err := l.core.submit(tenant, it.msg.Data(), it.msg.Headers(), seq); err != nil {
			l.log.Error().Err(err).Msg("submission deferred")
			_ = it.msg.NakWithDelay(time.Second)
			return false
		}
	case itemCancel:
		_, tenant, _ := events.TenantFromJobsSubject(it.msg.Subject())
		req, err := events.DecodeCancel(it.msg.Data())
		if err != nil {
			l.log.Warn().Err(err).Str("subject", it.msg.Subject()).Msg("cancel request rejected")
			return true
		}
		l.core.cancel(tenant, req)
	case itemHoldings:
		h, err := events.DecodeHoldings(it.data)
		if err != nil {
			l.log.Warn().Err(err).Msg("holdings announcement ignored")
			return true
		}
		l.core.loc.holdings(h)
	case itemWorker:
		if it.info == nil {
			l.core.workerLost(it.worker, it.expired)
		} else {
			l.core.loc.worker(it.worker, it.info)
		}
	case itemTaskEvent:
		ev, err := events.DecodeTaskEvent(it.msg.Data())
		if err == nil {
			// The subject, not the body, says whose task it is: a client
			// allowed on one tenant's subjects cannot touch another's tasks.
			if want := events.TaskEventSubject(ev.Tenant, ev.JobID, ev.State); it.msg.Subject() != want {
				err = fmt.Errorf("body names %s, the subject is %s", want, it.msg.Subject())
			}
		}
		if err != nil {
			l.log.Warn().Err(err).Str("subject", it.msg.Subject()).Msg("task event ignored")
			_ = it.msg.TermWithReason(err.Error())
			return false
		}
		if !l.core.knows(ev.Tenant, ev.JobID) && l.unknownJobEvent(it.msg, ev) {
			return false
		}
		l.core.taskEvent(ev)
	}
	return true
}

// unknownJobEventRetries bounds how often an event of a job that neither
// memory nor geo_jobs knows is put back (about 30 s): after that it is
// dropped as garbage.
const unknownJobEventRetries = 60

// unknownJobEvent handles an event of a job not in memory. A finished job
// (its record is stored) takes it as a late duplicate. Otherwise the job
// may not be accepted yet: its submission can come back later than the
// events of the tasks a previous leader released for it (a leader that
// stopped between its flush and its acks), so the event is put back to wait
// for it. It returns true when the event was put back.
func (l *loop) unknownJobEvent(msg jetstream.Msg, ev events.TaskEvent) bool {
	exists, err := l.core.stored(events.JobKey(ev.Tenant, ev.JobID))
	if err == nil && exists {
		return false
	}
	if md, merr := msg.Metadata(); merr == nil && md.NumDelivered > unknownJobEventRetries {
		l.log.Warn().Str("job_id", ev.JobID).Str("task_id", ev.TaskID).Msg("event of an unknown job dropped")
		return false
	}
	_ = msg.NakWithDelay(500 * time.Millisecond)
	return true
}

func (l *loop) dueRetries() {
	now := l.core.now()
	for l.retries.Len() > 0 && !l.retries[0].at.After(now) {
		l.core.retryDue(heap.Pop(&l.retries).(retryTimer))
	}
}

func (l *loop) armTimer(t *time.Timer) {
	d := time.Hour
	if l.retries.Len() > 0 {
		d = max(time.Until(l.retries[0].at), 0)
	}
	t.Reset(d)
}

// flush writes everything a batch produced, in three pipelined waves, each
// complete before the next starts:
//
//  1. the task records of newly accepted jobs (a stored job record must
//     find all its tasks);
//  2. every message: releases, events, dead letters;
//  3. the other task records and the job records.
//
// So a stored record always implies that the messages of its transition
// were stored: after a crash anywhere in a flush, the unacked inputs replay
// the transition against records that are not ahead of them, and the
// replayed messages carry the same Nats-Msg-Id, which the streams drop.
// Failed publishes are retried (every write is idempotent) until they
// succeed or ctx ends.
func (l *loop) flush(ctx context.Context, out *outbox) error {
	var first, last []outMsg
	for t := range out.tasks {
		m := outMsg{subject: events.KVSubject(events.BucketTasks, t.key()), data: marshalRecord(t.rec)}
		if t.job.newJob {
			first = append(first, m)
		} else {
			last = append(last, m)
		}
	}
	for j := range out.jobs {
		last = append(last, outMsg{subject: events.KVSubject(events.BucketJobs, events.JobKey(j.rec.Tenant, j.rec.ID)), data: marshalRecord(j.rec)})
		j.newJob = false
	}
	for _, wave := range [][]outMsg{first, out.msgs, last} {
		if err := l.publishAll(ctx, wave); err != nil {
			return err
		}
	}
	return nil
}

func (l *loop) publishAll(ctx context.Context, msgs []outMsg) error {
	delay := 50 * time.Millisecond
	for len(msgs) > 0 {
		futures := make([]jetstream.PubAckFuture, len(msgs))
		var failed []outMsg
		var lastErr error
		for i, m := range msgs {
			nm := &nats.Msg{Subject: m.subject, Data: m.data, Header: m.header}
			if l.fence != "" {
				if nm.Header == nil {
					nm.Header = nats.Header{}
				}
				nm.Header.Set(events.FencingTokenHeader, l.fence)
			}
			var opts []jetstream.PublishOpt
			if m.msgID != "" {
				opts = append(opts, jetstream.WithMsgID(m.msgID))
			}
			f, err := l.js.PublishMsgAsync(nm, opts...)
			if errors.Is(err, nats.ErrMaxPayload) {
				// Retrying cannot help and would stall every job: the write
				// is dropped, loudly. Validation limits keep records far
				// below the payload limit; this is the last line.
				l.log.Error().Err(err).Str("subject", m.subject).Int("bytes", len(m.data)).Msg("write dropped: over the server's max payload")
				continue
			}
			if err != nil {
				failed, lastErr = append(failed, m), err
				continue
			}
			futures[i] = f
		}
		for i, f := range futures {
			if f == nil {
				continue
			}
			select {
			case <-f.Ok():
			case err := <-f.Err():
				failed, lastErr = append(failed, msgs[i]), err
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if len(failed) == 0 {
			return nil
		}
		l.log.Error().Err(lastErr).Int("failed", len(failed)).Dur("retry_in", delay).Msg("flush incomplete")
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 2*time.Second)
		msgs = failed
	}
	return nil
}

// retryHeap orders retry releases by due time.
type retryHeap []retryTimer

func (h retryHeap) Len() int           { return len(h) }
func (h retryHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h retryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *retryHeap) Push(x any)        { *h = append(*h, x.(retryTimer)) }
func (h *retryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
