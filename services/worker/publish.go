package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/geocluster/geocluster/libs/events"
)

// workerEventMsgID is the Nats-Msg-Id of a worker lifecycle event. A worker
// id is used by one process only and each state is entered once, so
// <workerID>.<state> is unique. (libs/events has no builder for it yet.)
func workerEventMsgID(workerID string, s events.WorkerState) string {
	return workerID + "." + string(s)
}

// taskEvent returns the event of m in state s, from this worker.
func (w *worker) taskEvent(m events.TaskMessage, s events.TaskState) events.TaskEvent {
	return events.TaskEvent{
		V:        events.Version,
		Tenant:   m.Tenant,
		JobID:    m.JobID,
		TaskID:   m.TaskID,
		Op:       m.Op,
		State:    s,
		Priority: m.Priority,
		Pool:     m.Pool,
		Attempt:  m.Attempt,
		WorkerID: w.cfg.ID,
		At:       time.Now().UTC(),
	}
}

// publishTaskEvent publishes e asynchronously, deduplicated per attempt and
// state, with the trace context of ctx.
func (w *worker) publishTaskEvent(ctx context.Context, e events.TaskEvent) (jetstream.PubAckFuture, error) {
	msg, err := newMsg(ctx, events.TaskEventSubject(e.Tenant, e.JobID, e.State), e)
	if err != nil {
		return nil, err
	}
	f, err := w.js.PublishMsgAsync(msg, jetstream.WithMsgID(events.TaskEventMsgID(e.Tenant, e.JobID, e.TaskID, e.Attempt, e.State)))
	if err != nil {
		return nil, fmt.Errorf("publish %s: %w", msg.Subject, err)
	}
	return f, nil
}

// publishTaskEventAcked publishes e and waits at most PublishTimeout for
// the stream to store it.
func (w *worker) publishTaskEventAcked(ctx context.Context, e events.TaskEvent) error {
	f, err := w.publishTaskEvent(ctx, e)
	if err != nil {
		return err
	}
	timer := time.NewTimer(w.cfg.PublishTimeout)
	defer timer.Stop()
	select {
	case <-f.Ok():
		return nil
	case err := <-f.Err():
		return fmt.Errorf("publish %s: %w", f.Msg().Subject, err)
	case <-timer.C:
		return fmt.Errorf("publish %s: no ack after %s", f.Msg().Subject, w.cfg.PublishTimeout)
	}
}

// publishWorkerEvent publishes this worker's lifecycle event and waits for
// the stream to store it. It works after ctx is done, within PublishTimeout.
func (w *worker) publishWorkerEvent(ctx context.Context, s events.WorkerState, info events.WorkerInfo) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.PublishTimeout)
	defer cancel()
	msg, err := newMsg(ctx, events.WorkerEventSubject(w.cfg.ID, s), events.WorkerEvent{
		V: events.Version, WorkerID: w.cfg.ID, State: s, Info: &info, At: time.Now().UTC(),
	})
	if err != nil {
		return err
	}
	if _, err := w.js.PublishMsg(ctx, msg, jetstream.WithMsgID(workerEventMsgID(w.cfg.ID, s))); err != nil {
		return fmt.Errorf("publish %s: %w", msg.Subject, err)
	}
	return nil
}

// newMsg encodes v as JSON on subject with the trace context of ctx.
func newMsg(ctx context.Context, subject string, v any) (*nats.Msg, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", subject, err)
	}
	msg := nats.NewMsg(subject)
	msg.Data = data
	events.InjectTrace(ctx, msg.Header)
	return msg, nil
}
