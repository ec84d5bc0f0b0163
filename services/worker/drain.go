package worker

import (
	"context"
	"time"
)

// drain runs once fetching has stopped: it announces the worker draining,
// hands back tasks still waiting for their op's limit, waits up to
// DrainTimeout for the running ones, then cancels those left with
// ErrDraining (they are naked, so JetStream redelivers them to another
// worker at once) and waits for them to return.
func (w *worker) drain(ctx context.Context) {
	close(w.draining)
	held := w.slots.held()
	w.log.Info().Int("running", held).Dur("timeout", w.cfg.DrainTimeout).Msg("worker draining")
	w.announceDraining(ctx)

	done := make(chan struct{})
	go func() { // owned here: drain returns only after done is closed
		w.tasks.Wait()
		close(done)
	}()
	timer := time.NewTimer(w.cfg.DrainTimeout)
	defer timer.Stop()
	select {
	case <-done:
		return
	case <-timer.C:
	}
	w.log.Warn().Int("running", w.slots.held()).Msg("drain timeout: handing tasks back")
	w.tracker.cancelAll(ErrDraining)
	<-done
}
