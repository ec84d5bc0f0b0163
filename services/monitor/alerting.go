package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/rules"
)

// alerting evaluates the rules of geo_rules over the sampled metrics and
// publishes alerts on geo.alerts.<severity>.<rule> into ALERTS.
type alerting struct {
	m      *Monitor
	store  *rules.Store
	engine *rules.Engine

	mu       sync.Mutex
	defs     map[string]rules.Rule // valid rules by key
	rejected map[string]string     // key -> why the stored rule was refused
	unsent   []AlertMessage        // transitions not yet stored, retried each tick
	// inherited are the alerts ALERTS says were firing when this monitor
	// started, by alert id: the engine starts with no state, so its first
	// firing of one of them is not published again, and one it does not
	// find firing again within the rule's for (plus a grace) is resolved.
	inherited map[string]AlertMessage
	started   time.Time
}

// inheritGrace is how long past a rule's for an inherited firing alert is
// given to fire again before it is resolved.
const inheritGrace = 5 * time.Second

// AlertMessage is what the monitor publishes on an alert subject: a rule's
// alert that started firing or resolved, with the values that made it.
type AlertMessage struct {
	V int `json:"v"`
	rules.Transition
}

// maxUnsent bounds the transitions kept while ALERTS cannot be written.
const maxUnsent = 10_000

func newAlerting(m *Monitor) (*alerting, error) {
	store, err := rules.NewStore(rules.WithRetention(m.cfg.Retention))
	if err != nil {
		return nil, err
	}
	engine, err := rules.NewEngine(store)
	if err != nil {
		return nil, err
	}
	return &alerting{m: m, store: store, engine: engine, defs: map[string]rules.Rule{}, rejected: map[string]string{}}, nil
}

// watchRules follows geo_rules and reloads the engine on every change. A
// stored rule that does not validate is refused (logged, and listed by
// /api/rules with its error); the others keep running.
func (a *alerting) watchRules(ctx context.Context) error {
	return a.m.watchBucket(ctx, events.BucketRules, func(key string, e jetstream.KeyValueEntry) {
		a.mu.Lock()
		defer a.mu.Unlock()
		delete(a.rejected, key)
		delete(a.defs, key)
		if e != nil {
			r, err := rules.ParseRule(e.Value())
			switch {
			case err != nil:
				a.rejected[key] = err.Error()
			case r.Name != key:
				a.rejected[key] = fmt.Sprintf("rule %q: name: must equal its key %q", r.Name, key)
			default:
				a.defs[key] = r
			}
			if why, bad := a.rejected[key]; bad {
				a.m.log.Warn().Str("rule", key).Str("error", why).Msg("alert rule refused")
			}
		}
		list := make([]rules.Rule, 0, len(a.defs))
		for _, r := range a.defs {
			list = append(list, r)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
		if err := a.engine.SetRules(list); err != nil {
			a.m.log.Warn().Err(err).Msg("alert rules")
		}
		a.m.log.Info().Int("rules", len(list)).Int("refused", len(a.rejected)).Msg("alert rules loaded")
	})
}

// eval evaluates every rule at now and publishes the transitions.
func (a *alerting) eval(ctx context.Context, now time.Time) {
	trans := a.engine.Eval(now)
	a.mu.Lock()
	trans = a.reconcile(trans, now)
	for _, t := range trans {
		if len(a.unsent) >= maxUnsent {
			a.unsent = a.unsent[1:]
			a.m.log.Error().Msg("alerts unsent for too long: dropping the oldest")
		}
		a.unsent = append(a.unsent, AlertMessage{V: events.Version, Transition: t})
	}
	pending := a.unsent
	a.unsent = nil
	a.mu.Unlock()

	var keep []AlertMessage
	for i, msg := range pending {
		if err := a.publish(ctx, msg); err != nil {
			a.m.log.Warn().Err(err).Str("rule", msg.Rule).Msg("publish alert")
			keep = pending[i:]
			break
		}
		a.m.hub.publish("alert", alertFeed(msg))
		ev := a.m.log.Info()
		if msg.State == rules.StateFiring && msg.Severity == "critical" {
			ev = a.m.log.Warn()
		}
		ev.Str("rule", msg.Rule).Str("state", string(msg.State)).Str("severity", string(msg.Severity)).
			Float64("value", msg.Value).Msg("alert")
	}
	if len(keep) > 0 {
		a.mu.Lock()
		a.unsent = append(keep, a.unsent...)
		a.mu.Unlock()
	}

	counts := map[alertKey]int{}
	for _, al := range a.engine.Active() {
		counts[alertKey{string(al.Severity), string(al.State)}]++
	}
	a.m.mu.Lock()
	a.m.alertCounts = counts
	a.m.mu.Unlock()
}

// reconcile drops the firing of an alert that was firing before this
// monitor started and adds the resolution of inherited alerts that did not
// fire again in time. a.mu is held.
func (a *alerting) reconcile(trans []rules.Transition, now time.Time) []rules.Transition {
	if len(a.inherited) == 0 {
		return trans
	}
	out := trans[:0]
	for _, t := range trans {
		if _, ok := a.inherited[t.ID]; ok && t.State == rules.StateFiring {
			delete(a.inherited, t.ID) // still firing: said already
			continue
		}
		out = append(out, t)
	}
	active := map[string]bool{}
	for _, al := range a.engine.Active() {
		active[al.ID] = true
	}
	for id, msg := range a.inherited {
		r, defined := a.defs[msg.Rule]
		wait := inheritGrace
		if defined {
			wait += r.For
		}
		if active[id] || now.Sub(a.started) < wait {
			continue
		}
		delete(a.inherited, id)
		res := msg.Transition
		res.State, res.At = rules.StateResolved, now
		out = append(out, res)
	}
	return out
}

// inherit reads ALERTS for the alerts whose last transition is firing.
func (a *alerting) inherit(ctx context.Context, now time.Time) error {
	inherited := map[string]AlertMessage{}
	defer func() {
		a.mu.Lock()
		a.started, a.inherited = now, inherited
		a.mu.Unlock()
	}()
	cons, err := a.m.js.OrderedConsumer(ctx, events.StreamAlerts, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		return fmt.Errorf("read %s: %w", events.StreamAlerts, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return fmt.Errorf("read %s: %w", events.StreamAlerts, err)
	}
	left := info.NumPending
	for left > 0 {
		batch, err := cons.Fetch(int(min(left, 1000)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return fmt.Errorf("read %s: %w", events.StreamAlerts, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			var msg AlertMessage
			if json.Unmarshal(m.Data(), &msg) != nil || msg.ID == "" {
				continue
			}
			if msg.State == rules.StateFiring {
				inherited[msg.ID] = msg
			} else {
				delete(inherited, msg.ID)
			}
		}
		if err := batch.Error(); err != nil {
			return fmt.Errorf("read %s: %w", events.StreamAlerts, err)
		}
		if n == 0 {
			break
		}
		left -= uint64(n)
	}
	return nil
}

// publish stores one transition in ALERTS. Its message id makes a retry
// (or a second monitor with the same view) store it once.
func (a *alerting) publish(ctx context.Context, msg AlertMessage) error {
	data, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	nm := nats.NewMsg(events.AlertSubject(string(msg.Severity), msg.Rule))
	nm.Data = data
	id := msg.ID + "." + string(msg.State) + "." + strconv.FormatInt(msg.StartedAt.UnixNano(), 10)
	_, err = a.m.js.PublishMsg(ctx, nm, jetstream.WithMsgID(id))
	return err
}

type alertItem struct {
	ID       string            `json:"id"`
	Rule     string            `json:"rule"`
	Severity string            `json:"severity"`
	State    string            `json:"state"`
	Labels   map[string]string `json:"labels,omitempty"`
	Value    float64           `json:"value"`
	Summary  string            `json:"summary,omitempty"`
	Since    time.Time         `json:"since"`
	Evidence *rules.Evidence   `json:"evidence,omitempty"`
}

func alertFeed(msg AlertMessage) map[string]any {
	return map[string]any{
		"id": msg.ID, "rule": msg.Rule, "severity": msg.Severity, "state": msg.State,
		"value": msg.Value, "summary": msg.Summary, "at": msg.At, "labels": msg.Labels,
	}
}

// active lists the pending and firing alerts.
func (a *alerting) active() []alertItem {
	out := []alertItem{}
	for _, al := range a.engine.Active() {
		since := al.StartedAt
		if !al.FiredAt.IsZero() {
			since = al.FiredAt
		}
		out = append(out, alertItem{ID: al.ID, Rule: al.Rule, Severity: string(al.Severity), State: string(al.State),
			Labels: al.Labels, Value: al.Value, Summary: al.Summary, Since: since, Evidence: al.Evidence})
	}
	return out
}

type ruleItem struct {
	Name  string      `json:"name"`
	Rule  *rules.Rule `json:"rule,omitempty"`
	Error string      `json:"error,omitempty"`
}

// ruleList lists the stored rules, refused ones with their error.
func (a *alerting) ruleList() []ruleItem {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := []ruleItem{}
	for k, r := range a.defs {
		r := r
		out = append(out, ruleItem{Name: k, Rule: &r})
	}
	for k, why := range a.rejected {
		out = append(out, ruleItem{Name: k, Error: why})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
