package worker

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/geocluster/geocluster/libs/events"
)

// credits implements the weighted credit rule of the package doc. Index i is
// events.Priorities[i], most urgent first.
type credits struct {
	full []int // credits after a refill: weight × scale
	left []int
}

// newCredits scales weights so that one fetch of batch tasks fits in the
// credits of the heaviest priority; the ratio between priorities stays the
// ratio of their weights.
func newCredits(weights []int, batch int) *credits {
	heaviest := 1
	for _, w := range weights {
		heaviest = max(heaviest, w)
	}
	scale := max(1, (batch+heaviest-1)/heaviest)
	c := &credits{full: make([]int, len(weights)), left: make([]int, len(weights))}
	for i, w := range weights {
		c.full[i] = w * scale
	}
	c.refill()
	return c
}

func (c *credits) refill() { copy(c.left, c.full) }

// fetchFunc fetches at most n tasks of priority index i and returns how
// many it took.
type fetchFunc func(i, n int) (int, error)

// round takes one batch: from the most urgent priority that has credits and
// tasks, at most min(free, maxBatch, its credits) tasks, spending one credit
// per task. When no priority with credits has tasks but some priority is out
// of credits, every credit refills and the priorities are tried once more.
// It returns 0 when every priority is empty.
func (c *credits) round(free, maxBatch int, fetch fetchFunc) (int, error) {
	for range 2 {
		exhausted := false
		for i, left := range c.left {
			if left <= 0 {
				exhausted = true
				continue
			}
			n, err := fetch(i, min(free, maxBatch, left))
			if err != nil {
				return 0, err
			}
			if n > 0 {
				c.left[i] -= n
				return n, nil
			}
		}
		if !exhausted {
			return 0, nil
		}
		c.refill()
	}
	return 0, nil
}

// puller is the worker's only fetching goroutine. It holds one bound pull
// consumer per priority, most urgent first.
type puller struct {
	consumers []jetstream.Consumer
	// directed are the worker's own consumers of tasks offered to it alone
	// (data locality), one per priority; offered says one may hold a task.
	directed []jetstream.Consumer
	offered  *atomic.Bool
	credits  *credits
	maxBatch int
	idlePoll time.Duration
	slots    *slots
	signal   <-chan struct{}
	// dispatch starts a fetched task; its slot is already taken.
	dispatch func(msg jetstream.Msg)
	// repair re-provisions the pool's consumers after a fetch error.
	repair func(ctx context.Context) error
	// closed reports that the connection is closed for good.
	closed func() bool
	log    zerolog.Logger
}

// run fetches until ctx is done, or until the connection is closed for good
// (nats.ErrConnectionClosed). Tasks already fetched are always dispatched,
// so nothing is held without an owner.
func (p *puller) run(ctx context.Context) error {
	timer := time.NewTimer(p.idlePoll)
	defer timer.Stop()
	// wait returns after IdlePoll, or earlier on a wake-up from a or b (a
	// nil channel never wakes) or when ctx is done; true when a woke it.
	wait := func(a, b <-chan struct{}) bool {
		timer.Reset(p.idlePoll)
		select {
		case <-ctx.Done():
		case <-timer.C:
		case <-a:
			return true
		case <-b:
		}
		return false
	}
	// A no-wait fetch right after a release can miss the task: the stream
	// has stored it but the consumer has not counted it yet (measured: about
	// 4 in 100 fetches issued right after the publish's ack). So a round that
	// a signal started and that found nothing is tried again a few times,
	// shortly, before the worker goes idle until IdlePoll.
	signaled, retries := false, 0
	for ctx.Err() == nil {
		free := p.slots.available()
		if free == 0 {
			select {
			case <-ctx.Done():
			case <-p.slots.freed:
			}
			continue
		}
		// Wake-ups from before this round are answered by it.
		drain(p.signal)
		drain(p.slots.freed)
		n, err := p.takeOffers(free)
		if err == nil && n < free {
			var m int
			m, err = p.credits.round(free-n, p.maxBatch, p.fetch)
			n += m
		}
		switch {
		case err != nil && p.closed():
			return fmt.Errorf("fetch: %w", nats.ErrConnectionClosed)
		case err != nil:
			p.log.Warn().Err(err).Msg("fetch failed")
			wait(nil, nil)
			if ctx.Err() == nil {
				if err := p.repair(ctx); err != nil {
					p.log.Warn().Err(err).Msg("pool consumers not repaired")
				}
			}
		case n == 0 && signaled && retries < len(signalRetries):
			pause(ctx, signalRetries[retries])
			retries++
		case n == 0:
			signaled, retries = wait(p.signal, p.slots.freed), 0
			if !signaled {
				p.offered.Store(true) // a lost offer signal costs at most IdlePoll
			}
		default:
			signaled, retries = false, 0
		}
	}
	return nil
}

// fetch takes at most n tasks of priority index i without waiting and
// dispatches them.
func (p *puller) fetch(i, n int) (int, error) {
	batch, err := p.consumers[i].FetchNoWait(n)
	if err != nil {
		return 0, fmt.Errorf("fetch %s: %w", events.TaskStream(events.Priorities[i]), err)
	}
	got := 0
	for msg := range batch.Messages() {
		p.slots.take(1)
		p.dispatch(msg)
		got++
	}
	if err := batch.Error(); err != nil && got == 0 {
		return 0, fmt.Errorf("fetch %s: %w", events.TaskStream(events.Priorities[i]), err)
	}
	return got, nil
}

// takeOffers fetches the tasks offered to this worker alone, most urgent
// first, when an offer signal (or an idle poll) says there may be some.
// Offers do not spend credits: each is a task the scheduler chose this
// worker for, and it lapses to the shared queue after the locality wait.
func (p *puller) takeOffers(free int) (int, error) {
	if !p.offered.Swap(false) {
		return 0, nil
	}
	got := 0
	for i, c := range p.directed {
		if got == free {
			p.offered.Store(true) // more may wait: look again next round
			break
		}
		batch, err := c.FetchNoWait(min(free-got, p.maxBatch))
		if err != nil {
			return got, fmt.Errorf("fetch offers %s: %w", events.TaskStream(events.Priorities[i]), err)
		}
		for msg := range batch.Messages() {
			p.slots.take(1)
			p.dispatch(msg)
			got++
		}
	}
	return got, nil
}

// signalRetries are the pauses before the rounds retried after a signal.
var signalRetries = []time.Duration{200 * time.Microsecond, time.Millisecond, 5 * time.Millisecond}

func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// drain empties a wake-up channel without blocking.
func drain(c <-chan struct{}) {
	select {
	case <-c:
	default:
	}
}
