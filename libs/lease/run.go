package lease

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// State of a contender driven by Run.
type State int

// States; see the package doc.
const (
	Campaigning State = iota + 1
	Leading
	Lost
	Released
)

func (s State) String() string {
	switch s {
	case Campaigning:
		return "campaigning"
	case Leading:
		return "leading"
	case Lost:
		return "lost"
	case Released:
		return "released"
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// releaseTimeout bounds the release of a lease when Run stops.
const releaseTimeout = 5 * time.Second

// Run campaigns for the lease until ctx is done. Whenever it holds the
// lease it calls lead with the tenure's fencing token and a context that is
// cancelled when ctx is done or, with cause ErrLost, when the lease is
// lost; lead must return soon after. When lead returns nil Run releases the
// lease and campaigns again; when it returns an error Run releases and
// returns that error. Run returns nil on a clean stop (ctx done), after
// releasing a held lease, and an error only for a bad config or from lead.
func Run(ctx context.Context, js jetstream.JetStream, cfg Config, lead func(ctx context.Context, token uint64) error) error {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("lease config: %w", err)
	}
	report := func(s State, token uint64) {
		if cfg.OnChange != nil {
			cfg.OnChange(s, token)
		}
	}
	retry := time.NewTimer(0)
	defer retry.Stop()
	report(Campaigning, 0)
	var kv jetstream.KeyValue
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-retry.C:
		}
		// The bucket is bound once; a contender retries every RetryEvery.
		if kv == nil {
			bound, err := js.KeyValue(ctx, cfg.Bucket)
			if err != nil {
				retry.Reset(cfg.RetryEvery)
				continue
			}
			kv = bound
		}
		l, err := acquire(ctx, js, kv, cfg)
		if err != nil {
			// Held by another, or a transient failure: try again later.
			retry.Reset(cfg.RetryEvery)
			continue
		}
		report(Leading, l.Token())
		lost, err := hold(ctx, l, cfg, lead)
		if lost {
			report(Lost, l.Token())
		} else {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
			_ = l.Release(rctx) // the TTL frees it all the same
			cancel()
			report(Released, l.Token())
		}
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		report(Campaigning, 0)
		retry.Reset(cfg.RetryEvery)
	}
}

// hold renews l while lead runs. It returns whether the lease was lost and
// lead's error.
func hold(ctx context.Context, l *Lease, cfg Config, lead func(context.Context, uint64) error) (bool, error) {
	lctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan error, 1)
	go func() { done <- lead(lctx, l.Token()) }()

	// The holder gives up half a renewal period before the server may
	// expire the key, so its lead stops before a successor can start.
	margin := cfg.RenewEvery / 2
	tick := time.NewTicker(cfg.RenewEvery / 2)
	defer tick.Stop()
	next := time.Now().Add(cfg.RenewEvery)
	lost := false
	for {
		select {
		case err := <-done:
			return lost, err
		case <-ctx.Done():
			return lost, <-done
		case now := <-tick.C:
			if lost {
				continue // waiting for lead to return
			}
			if now.After(l.Deadline().Add(-margin)) {
				lost = true
				cancel(ErrLost)
				continue
			}
			if now.Before(next) {
				continue
			}
			rctx, rcancel := context.WithTimeout(lctx, cfg.RenewEvery)
			err := l.Renew(rctx)
			rcancel()
			switch {
			case errors.Is(err, ErrLost):
				lost = true
				cancel(ErrLost)
			case err == nil:
				next = time.Now().Add(cfg.RenewEvery)
			}
			// Another error is transient: retry at the next tick, until the
			// deadline says the lease may be gone.
		}
	}
}
