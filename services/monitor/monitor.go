package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/lease"
)

// Deps are what the monitor runs on.
type Deps struct {
	// NC is a connection named for the monitor.
	NC *nats.Conn
	// Log is the service's root logger.
	Log zerolog.Logger
}

// Monitor is a running monitor.
type Monitor struct {
	cfg  Config
	log  zerolog.Logger
	nc   *nats.Conn
	js   jetstream.JetStream
	snap jetstream.KeyValue
	reg  *prometheus.Registry
	hub  *hub
	srv  *http.Server
	ln   net.Listener

	mu          sync.Mutex // guards what follows
	st          *state
	last        jetstream.Msg // last message applied, acked after a snapshot
	snapSeq     uint64        // Seq of the last stored snapshot
	snapRev     uint64        // its revision in geo_monitor (0: none yet)
	live        liveWorkers
	jobs        jobIndex
	queues      []QueueDepth
	streams     []streamStat
	series      *seriesSet
	alertCounts map[alertKey]int
	alerts      *alerting
	// leading is true while this process counts (holds the lease).
	leading atomic.Bool

	done chan struct{}
	err  error
}

type alertKey struct{ severity, state string }

type streamStat struct {
	name        string
	msgs, bytes uint64
}

// QueueDepth is the depth of one pool consumer of one priority stream.
type QueueDepth struct {
	Priority   string `json:"priority"`
	Pool       string `json:"pool"`
	Pending    uint64 `json:"pending"`
	AckPending int    `json:"ack_pending"`
}

// kvTimeout bounds one read or write of the snapshot.
const kvTimeout = 10 * time.Second

// snapshotKey is the key of a monitor's snapshot in geo_monitor.
func snapshotKey(id string) string { return "state." + id }

// consumerName is the durable consumer of a monitor on EVENTS.
func consumerName(id string) string { return events.ConsumerMonitor + "_" + id }

// Run runs the monitor until ctx is done; it returns nil on a clean stop.
func Run(ctx context.Context, deps Deps, cfg Config) error {
	m, err := Start(ctx, deps, cfg)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	return m.Wait()
}

// Start provisions the topology, restores the last snapshot, starts
// consuming EVENTS and serving HTTP, and returns once the address is bound.
// The monitor stops when ctx is done; Wait returns then.
func Start(ctx context.Context, deps Deps, cfg Config) (*Monitor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("monitor config: %w", err)
	}
	js, err := jetstream.New(deps.NC)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if err := events.EnsureTopology(ctx, js, cfg.Topology); err != nil {
		return nil, err
	}
	snap, err := js.KeyValue(ctx, events.BucketMonitor)
	if err != nil {
		return nil, fmt.Errorf("bind %s: %w", events.BucketMonitor, err)
	}
	m := &Monitor{
		cfg: cfg, log: deps.Log.With().Str("monitor", cfg.ID).Logger(), nc: deps.NC, js: js, snap: snap,
		reg: prometheus.NewRegistry(), hub: newHub(), st: newState(),
		live: liveWorkers{}, jobs: newJobIndex(cfg.MaxJobs), series: newSeriesSet(cfg.Retention),
		alertCounts: map[alertKey]int{}, done: make(chan struct{}),
	}
	m.reg.MustRegister(collector{m})
	alerts, err := newAlerting(m)
	if err != nil {
		return nil, err
	}
	m.alerts = alerts
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("http_addr: %w", err)
	}
	m.ln = ln
	m.srv = &http.Server{Handler: m.routes(), ReadHeaderTimeout: 10 * time.Second}

	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	goRun := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(runCtx); err != nil && runCtx.Err() == nil {
				errc <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		}()
	}
	goRun("count", m.count)
	goRun("poll", m.pollLoop)
	goRun("workers", m.watchWorkers)
	goRun("jobs", m.watchJobs)
	goRun("sample", m.sampleLoop)
	goRun("rules", m.alerts.watchRules)
	go func() {
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
			cancel()
		}
	}()
	go func() {
		<-runCtx.Done()
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		m.hub.close()
		_ = m.srv.Shutdown(sctx)
		scancel()
		wg.Wait()
		select {
		case err := <-errc:
			m.err = err
		default:
		}
		cancel()
		close(m.done)
	}()
	m.log.Info().Str("addr", ln.Addr().String()).Msg("monitor started")
	return m, nil
}

// Addr is the bound HTTP address.
func (m *Monitor) Addr() string { return m.ln.Addr().String() }

// Wait waits until the monitor stopped and returns why, nil on a clean stop.
func (m *Monitor) Wait() error {
	<-m.done
	return m.err
}

// count counts the events while this process holds the monitor's lease
// (geo_leases key monitor_<ID>): monitors sharing an ID share one durable
// consumer and one snapshot, so only one of them may count; the others
// serve the live views and wait to take over.
func (m *Monitor) count(ctx context.Context) error {
	holder := m.cfg.ID + "/" + events.NewID()
	return lease.Run(ctx, m.js, lease.Config{
		Key: "monitor_" + m.cfg.ID, Holder: holder, TTL: m.cfg.LeaseTTL,
		OnChange: func(s lease.State, token uint64) {
			m.log.Info().Str("lease", s.String()).Uint64("fencing_token", token).Msg("monitor lease")
		},
	}, m.lead)
}

// lead counts from the last snapshot on until ctx is done, then stores a
// last snapshot.
func (m *Monitor) lead(ctx context.Context, _ uint64) error {
	m.mu.Lock()
	m.st, m.snapSeq, m.snapRev, m.last = newState(), 0, 0, nil
	m.mu.Unlock()
	// A failure to start counting (JetStream unavailable for a moment)
	// ends this tenure without ending the monitor: the lease is released
	// and campaigned for again.
	retry := func(what string, err error) error {
		m.log.Warn().Err(err).Str("step", what).Msg("cannot count yet; campaigning again")
		return nil
	}
	if err := m.restore(ctx); err != nil {
		return retry("restore", err)
	}
	if err := m.alerts.inherit(ctx, time.Now()); err != nil {
		return retry("inherit alerts", err)
	}
	cons, err := m.js.CreateOrUpdateConsumer(ctx, events.StreamEvents, jetstream.ConsumerConfig{
		Durable: consumerName(m.cfg.ID), Description: "the monitor's view of every event",
		DeliverPolicy: jetstream.DeliverAllPolicy, AckPolicy: jetstream.AckAllPolicy,
		AckWait: max(5*time.Second, 3*m.cfg.SnapshotInterval), MaxDeliver: -1, MaxAckPending: 200_000,
		Replicas: m.cfg.Topology.Replicas,
	})
	if err != nil {
		return retry("ensure consumer", err)
	}
	cc, err := cons.Consume(m.onEvent, jetstream.PullMaxMessages(1000))
	if err != nil {
		return retry("consume", err)
	}
	m.leading.Store(true)
	m.log.Info().Uint64("resume_after_seq", m.snapSeq).Msg("counting events")
	err = m.snapshotLoop(ctx)
	m.leading.Store(false)
	cc.Stop()
	// A last snapshot keeps what was counted since the previous one.
	fctx, fcancel := context.WithTimeout(context.Background(), 5*time.Second)
	if serr := m.snapshot(fctx); serr != nil {
		m.log.Warn().Err(serr).Msg("final snapshot")
	}
	fcancel()
	return err
}

// restore loads the last snapshot of this monitor's ID.
func (m *Monitor) restore(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, kvTimeout)
	defer cancel()
	e, err := m.snap.Get(ctx, snapshotKey(m.cfg.ID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read snapshot: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.snapRev = e.Revision()
	st := &state{}
	if err := json.Unmarshal(e.Value(), st); err != nil {
		// A snapshot this version cannot read is not trusted: counting
		// from the start of the stream again is correct, only slower.
		m.log.Warn().Err(err).Msg("snapshot unreadable; counting from the stream's start")
		return nil
	}
	st.init()
	m.st = st
	m.snapSeq = st.Seq
	return nil
}

// onEvent applies one event; the consumer calls it from one goroutine.
func (m *Monitor) onEvent(msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		m.log.Warn().Err(err).Str("subject", msg.Subject()).Msg("event without metadata")
		_ = msg.Term()
		return
	}
	m.mu.Lock()
	ap, fresh := m.st.apply(meta.Sequence.Stream, msg.Subject(), msg.Data())
	m.last = msg
	m.mu.Unlock()
	if !fresh {
		return
	}
	switch {
	case ap.task != nil:
		e := ap.task
		m.hub.publish("task", taskFeed{Tenant: e.Tenant, JobID: e.JobID, TaskID: e.TaskID, State: string(e.State), WorkerID: e.WorkerID, Op: e.Op})
	}
}

type taskFeed struct {
	Tenant   string `json:"tenant"`
	JobID    string `json:"job_id"`
	TaskID   string `json:"task_id"`
	State    string `json:"state"`
	WorkerID string `json:"worker_id,omitempty"`
	Op       string `json:"op,omitempty"`
}

// snapshotLoop stores the state every SnapshotInterval.
func (m *Monitor) snapshotLoop(ctx context.Context) error {
	t := time.NewTicker(m.cfg.SnapshotInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := m.snapshot(ctx); err != nil {
				m.log.Warn().Err(err).Msg("snapshot")
			}
		}
	}
}

// snapshot stores the state if it changed, then acks every event it
// includes (the consumer acks all up to the one acked).
func (m *Monitor) snapshot(ctx context.Context) error {
	m.mu.Lock()
	if m.st.Seq == m.snapSeq {
		m.mu.Unlock()
		return nil
	}
	data, err := json.Marshal(m.st)
	seq, last, rev := m.st.Seq, m.last, m.snapRev
	m.mu.Unlock()
	if err != nil {
		return fmt.Errorf("encode snapshot: %w", err)
	}
	// Compare-and-set on the snapshot's revision: a monitor that lost the
	// lease to another with the same ID cannot overwrite the newer one's
	// snapshot, nor ack what that one has not counted. The write has its
	// own deadline: a reply lost with a dying server must not stall the
	// counting (the next tick tries again).
	ctx, cancel := context.WithTimeout(ctx, kvTimeout)
	defer cancel()
	if rev == 0 {
		rev, err = m.snap.Create(ctx, snapshotKey(m.cfg.ID), data)
	} else {
		rev, err = m.snap.Update(ctx, snapshotKey(m.cfg.ID), data, rev)
	}
	if err != nil {
		return fmt.Errorf("store snapshot (another monitor may count now): %w", err)
	}
	m.mu.Lock()
	m.snapSeq, m.snapRev = seq, rev
	m.mu.Unlock()
	if last != nil {
		if err := last.Ack(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			return fmt.Errorf("ack through seq %d: %w", seq, err)
		}
	}
	return nil
}

// pollLoop reads queue depths and stream sizes from the JetStream API.
func (m *Monitor) pollLoop(ctx context.Context) error {
	t := time.NewTicker(m.cfg.PollInterval)
	defer t.Stop()
	for {
		m.poll(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (m *Monitor) poll(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, max(m.cfg.PollInterval, 2*time.Second))
	defer cancel()
	var queues []QueueDepth
	var streams []streamStat
	names := []string{events.StreamJobs, events.StreamEvents, events.StreamDLQ, events.StreamAlerts}
	for _, p := range events.Priorities {
		names = append(names, events.TaskStream(p))
		for _, pool := range m.cfg.Topology.Pools {
			c, err := m.js.Consumer(ctx, events.TaskStream(p), events.PoolConsumer(pool))
			if err != nil {
				continue
			}
			info, err := c.Info(ctx)
			if err != nil {
				continue
			}
			queues = append(queues, QueueDepth{Priority: string(p), Pool: pool, Pending: info.NumPending, AckPending: info.NumAckPending})
		}
	}
	for _, name := range names {
		s, err := m.js.Stream(ctx, name)
		if err != nil {
			continue
		}
		info, err := s.Info(ctx)
		if err != nil {
			continue
		}
		streams = append(streams, streamStat{name: name, msgs: info.State.Msgs, bytes: info.State.Bytes})
	}
	m.mu.Lock()
	m.queues, m.streams = queues, streams
	m.mu.Unlock()
}
