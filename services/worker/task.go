package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/geocluster/geocluster/libs/events"
)

// TracerName is the OpenTelemetry tracer of the worker's spans.
const TracerName = "geocluster/worker"

// timeoutError is the cause of a task context whose attempt ran out of time.
type timeoutError struct{ after time.Duration }

func (e *timeoutError) Error() string { return "timeout after " + e.after.String() }

// handle owns one fetched task message until it is acked, naked or
// terminated, and gives its slot back.
func (w *worker) handle(base context.Context, msg jetstream.Msg) {
	defer w.slots.release()
	m, err := events.DecodeTask(msg.Data())
	if err != nil {
		reason := "undecodable task: " + err.Error()
		w.log.Error().Err(err).Str("subject", msg.Subject()).Msg("task undecodable")
		if err := msg.TermWithReason(reason); err != nil {
			w.log.Warn().Err(err).Str("subject", msg.Subject()).Msg("term failed")
		}
		return
	}
	log := w.log.With().Str("job_id", m.JobID).Str("task_id", m.TaskID).Logger()
	if m.DirectedTo != "" && (m.DirectedTo != w.cfg.ID || (m.LocalUntil != nil && time.Now().After(*m.LocalUntil))) {
		// A lapsed offer: the shared copy of the attempt is (or will be)
		// released to every worker, which runs it.
		log.Debug().Msg("lapsed task offer dropped")
		w.ack(msg, log)
		return
	}
	if md, err := msg.Metadata(); err == nil && md.NumDelivered > uint64(w.cfg.Topology.TaskMaxDeliver) {
		w.lost(base, msg, m, md.NumDelivered, log)
		return
	}
	h, ctx, ok := w.tracker.add(base, m, msg, time.Now())
	if !ok {
		log.Debug().Msg("task of cancelled job skipped")
		w.ack(msg, log)
		return
	}
	defer w.tracker.remove(h)
	// An open breaker refuses the task before it waits for its op's limit,
	// and again (the breaker may have opened meanwhile) once it has it.
	if delay, refuse := w.breakers.blocked(m.Op); refuse {
		w.refuse(msg, m, delay, log)
		return
	}
	release, err := w.limits.acquire(ctx, m.Op, w.draining)
	if err != nil {
		w.notStarted(msg, err, log)
		return
	}
	defer release()
	if ctx.Err() != nil {
		w.notStarted(msg, context.Cause(ctx), log)
		return
	}
	p, ok := w.admit(msg, m, log)
	if !ok {
		return
	}
	w.execute(ctx, msg, m, p, log)
}

// lost settles an attempt delivered more than TaskMaxDeliver times without an
// ack: the workers that held it died or hung, or refused it because their
// op's circuit breaker was open (a refusal is a Nak, which counts as a
// delivery). It is not run again here; it is reported failed so the
// scheduler retries it with backoff or, past its attempts, dead-letters it,
// instead of the task killing worker after worker.
func (w *worker) lost(ctx context.Context, msg jetstream.Msg, m events.TaskMessage, deliveries uint64, log zerolog.Logger) {
	e := w.taskEvent(m, events.TaskFailed)
	e.Error = fmt.Sprintf("delivered %d times without an ack (task_max_deliver %d): refused by open circuit breakers or held by workers that died or hung", deliveries-1, w.cfg.Topology.TaskMaxDeliver)
	if err := w.publishTaskEventAcked(ctx, e); err != nil {
		log.Warn().Err(err).Msg("lost attempt not reported")
		if err := msg.NakWithDelay(eventRetryDelay); err != nil {
			log.Warn().Err(err).Msg("nak failed")
		}
		return
	}
	log.Warn().Uint64("deliveries", deliveries-1).Msg("attempt lost")
	w.failed.Add(1)
	w.ack(msg, log)
}

// notStarted settles a task given up while it waited for its op's limit.
func (w *worker) notStarted(msg jetstream.Msg, cause error, log zerolog.Logger) {
	if errors.Is(cause, ErrJobCancelled) || errors.Is(cause, ErrSuperseded) {
		log.Debug().Err(cause).Msg("task skipped")
		w.ack(msg, log)
		return
	}
	log.Info().Err(cause).Msg("task handed back")
	if err := msg.Nak(); err != nil {
		log.Warn().Err(err).Msg("nak failed")
	}
}

// execute runs a decoded task, tells its op's breaker how it ended and
// reports its outcome.
func (w *worker) execute(ctx context.Context, msg jetstream.Msg, m events.TaskMessage, p permit, log zerolog.Logger) {
	ctx = events.ExtractTrace(ctx, msg.Headers())
	ctx, span := w.tracer.Start(ctx, "task "+m.Op,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("geo.tenant", m.Tenant),
			attribute.String("geo.job_id", m.JobID),
			attribute.String("geo.task_id", m.TaskID),
			attribute.Int("geo.attempt", m.Attempt),
			attribute.String("geo.worker_id", w.cfg.ID),
		))
	defer span.End()
	if sc := span.SpanContext(); sc.IsValid() {
		log = log.With().Str("trace_id", sc.TraceID().String()).Logger()
	}

	start := time.Now()
	result, err := w.runOp(ctx, m, log)
	elapsed := time.Since(start)
	p.done(outcomeOf(err, context.Cause(ctx)))

	e := w.taskEvent(m, events.TaskSucceeded)
	e.DurationMS = float64(elapsed) / float64(time.Millisecond)
	switch cause := context.Cause(ctx); {
	case err == nil:
		e.Result = result
		// What the task wrote is announced before its completion, so the
		// tasks the completion releases can be offered to this worker.
		w.sendHoldings()
	case errors.Is(cause, ErrDraining):
		// The worker stops: hand the task back at once, report nothing.
		span.SetStatus(codes.Error, "handed back")
		log.Info().Msg("task handed back")
		if err := msg.Nak(); err != nil {
			log.Warn().Err(err).Msg("nak failed")
		}
		return
	case errors.Is(cause, ErrJobCancelled), errors.Is(cause, ErrSuperseded):
		e.State, e.Error = events.TaskCancelled, cause.Error()
	default:
		e.State, e.Error, e.Permanent = events.TaskFailed, err.Error(), IsPermanent(err)
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, e.Error)
	}
	if err := w.publishTaskEventAcked(ctx, e); err != nil {
		// Not acked: JetStream redelivers the task, nothing is lost. The
		// delay keeps a worker from spinning while EVENTS is unavailable.
		log.Warn().Err(err).Str("state", string(e.State)).Msg("result not published")
		if err := msg.NakWithDelay(eventRetryDelay); err != nil {
			log.Warn().Err(err).Msg("nak failed")
		}
		return
	}
	w.ack(msg, log)
	switch e.State {
	case events.TaskSucceeded:
		w.completed.Add(1)
		log.Debug().Float64("duration_ms", e.DurationMS).Msg("task succeeded")
	case events.TaskFailed:
		w.failed.Add(1)
		log.Info().Str("error", e.Error).Bool("permanent", e.Permanent).Msg("task failed")
	case events.TaskCancelled:
		log.Info().Msg("task cancelled")
	}
}

// runOp announces the task started and runs its op under the task's
// timeout. An unknown op fails permanently without starting.
// eventRetryDelay is how long a task whose outcome could not be published
// waits before it is delivered again.
const eventRetryDelay = time.Second

// platformOps validates the params of the platform's own ops.
var platformOps = events.PlatformOps()

func (w *worker) runOp(ctx context.Context, m events.TaskMessage, log zerolog.Logger) (json.RawMessage, error) {
	op, ok := w.ops.Lookup(m.Op)
	if !ok {
		return nil, Permanent(fmt.Errorf("%w %q (this worker runs %s)", ErrUnknownOp, m.Op, strings.Join(w.ops.Names(), ", ")))
	}
	// Tasks normally come from the scheduler, which validated them, but
	// anyone allowed on geo.tasks.> can publish one: check the params of the
	// platform's ops again before any allocation they would size.
	if check, known := platformOps[m.Op]; known {
		if err := check(m.Params); err != nil {
			return nil, Permanent(fmt.Errorf("params of %s: %w", m.Op, err))
		}
	}
	started := w.taskEvent(m, events.TaskStarted)
	if !m.ReleasedAt.IsZero() {
		started.WaitMS = max(0, float64(started.At.Sub(m.ReleasedAt).Microseconds())/1000)
	}
	if _, err := w.publishTaskEvent(ctx, started); err != nil {
		log.Warn().Err(err).Msg("started event not published")
	}
	timeout := w.cfg.DefaultTimeout
	if m.TimeoutMS > 0 && m.TimeoutMS <= events.DefaultLimits.MaxTimeoutMS {
		timeout = time.Duration(m.TimeoutMS) * time.Millisecond
	}
	runCtx, cancel := context.WithTimeoutCause(ctx, timeout, &timeoutError{after: timeout})
	defer cancel()
	cp := new(atomic.Bool)
	result, err := call(runCtx, op, Task{TaskMessage: m, WorkerID: w.cfg.ID, JS: w.js, Tiles: w.tiles, DataDirs: w.cfg.DataDirs, OutputDirs: w.cfg.OutputDirs, Log: log, checkpoint: cp})
	if err == nil && cp.Load() {
		w.clearCheckpoint(ctx, m)
	}
	var te *timeoutError
	if err != nil && ctx.Err() == nil && errors.As(context.Cause(runCtx), &te) {
		return nil, te
	}
	if err == nil && len(result) > 0 && !json.Valid(result) {
		return nil, Permanent(&badResultError{op: m.Op})
	}
	return result, err
}

// call runs op, turning a panic into an error so one bad task cannot stop
// the worker.
func call(ctx context.Context, op Op, t Task) (result json.RawMessage, err error) {
	defer func() {
		if r := recover(); r != nil {
			result, err = nil, fmt.Errorf("op %s panicked: %v", t.Op, r)
		}
	}()
	return op(ctx, t)
}

// ack acknowledges a settled task.
func (w *worker) ack(msg jetstream.Msg, log zerolog.Logger) {
	if err := msg.Ack(); err != nil {
		log.Warn().Err(err).Msg("ack failed")
	}
}
