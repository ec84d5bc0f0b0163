package worker

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// progress tells JetStream every TaskAckWait/3 that each held task is
// still being worked on, so a long task is not redelivered to another
// worker while this one runs it. One ticker serves all tasks; a task fetched
// just after a tick hears from it within TaskAckWait/3 all the same.
func (w *worker) progress(ctx context.Context) {
	t := time.NewTicker(w.cfg.Topology.TaskAckWait / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, msg := range w.tracker.msgs() {
				if err := msg.InProgress(); err != nil && !errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
					w.log.Debug().Err(err).Msg("progress not reported")
				}
			}
		}
	}
}
