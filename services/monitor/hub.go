package monitor

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// hub fans the live feed out to the dashboard's Server-Sent Events
// clients. A client that does not keep up loses messages rather than
// slowing the monitor: each has a bounded queue, and what does not fit is
// dropped and counted (the next overview brings the page back in line).
type hub struct {
	mu      sync.Mutex
	clients map[chan sseMsg]struct{}
	closed  bool
	dropped uint64
}

type sseMsg struct {
	event string
	data  []byte
}

const clientQueue = 1024

func newHub() *hub { return &hub{clients: map[chan sseMsg]struct{}{}} }

func (h *hub) publish(event string, v any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.clients) == 0 {
		return
	}
	data, err := json.Marshal(v)
	if err != nil {
		return
	}
	for c := range h.clients {
		select {
		case c <- sseMsg{event, data}:
		default:
			h.dropped++
		}
	}
}

func (h *hub) subscribe() (chan sseMsg, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false
	}
	c := make(chan sseMsg, clientQueue)
	h.clients[c] = struct{}{}
	return c, true
}

func (h *hub) unsubscribe(c chan sseMsg) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; ok {
		delete(h.clients, c)
		close(c)
	}
}

// close ends every stream, so that the HTTP server can shut down.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for c := range h.clients {
		delete(h.clients, c)
		close(c)
	}
}

// serveSSE streams the feed to one client, starting with the current
// overview, and a comment every 15 s to keep proxies from closing it.
func (m *Monitor) serveSSE(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	c, ok := m.hub.subscribe()
	if !ok {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	defer m.hub.unsubscribe(c)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	if data, err := json.Marshal(m.overview()); err == nil {
		fmt.Fprintf(w, "event: overview\ndata: %s\n\n", data)
	}
	fl.Flush()
	keep := time.NewTicker(15 * time.Second)
	defer keep.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keep.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
		case msg, ok := <-c:
			if !ok {
				return
			}
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", msg.event, msg.data)
			// Send what is queued before flushing: one write for a burst.
			for n := len(c); n > 0; n-- {
				msg, ok := <-c
				if !ok {
					return
				}
				fmt.Fprintf(w, "event: %s\ndata: %s\n\n", msg.event, msg.data)
			}
			fl.Flush()
		}
	}
}
