package worker

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testBreakerConfig trips on 5 outcomes in 10s with half failed; the
// cooldown starts at 1s and doubles up to 4s.
func testBreakerConfig() BreakerConfig {
	return BreakerConfig{
		Enabled: true, Window: 10 * time.Second, MinRequests: 5, FailureRatio: 0.5,
		Cooldown: time.Second, MaxCooldown: 4 * time.Second, Probes: 1, RefuseDelay: 2 * time.Second,
	}
}

// step is one action on a breaker at a time of the fake clock.
type step struct {
	at time.Duration // since the start
	// do is one of:
	//   ok, fail, ignore: a task is admitted and ends so at once;
	//   take: a task is admitted and held;
	//   end-ok, end-fail, end-ignore: the oldest held task ends so;
	//   refused: a task is refused with wait left of the cooldown;
	//   check: nothing, the state is read.
	do    string
	wait  time.Duration // refused: the wait expected
	state breakerState  // the state after the step
	// opened: the step opens the breaker for this cooldown.
	opened time.Duration
}

func TestBreakerStateMachine(t *testing.T) {
	t.Parallel()
	const s = time.Second
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	fails := func(at time.Duration, n int) []step {
		out := make([]step, n)
		for i := range out {
			out[i] = step{at: at, do: "fail", state: breakerClosed}
		}
		return out
	}
	trip := func(at time.Duration) []step { // five failures: the fifth opens it for 1s
		out := fails(at, 4)
		return append(out, step{at: at, do: "fail", state: breakerOpen, opened: s})
	}
	for _, tc := range []struct {
		name  string
		cfg   func(*BreakerConfig)
		steps []step
	}{
		{name: "closed below MinRequests, open at it", steps: trip(0)},
		{name: "ratio below the threshold stays closed", steps: append(append(
			[]step{{do: "ok", state: breakerClosed}, {do: "ok", state: breakerClosed}, {do: "ok", state: breakerClosed},
				{do: "ok", state: breakerClosed}, {do: "ok", state: breakerClosed}},
			fails(0, 4)...), // 4 of 9
			step{do: "fail", state: breakerOpen, opened: s}), // 5 of 10
		},
		{name: "ignored outcomes count for nothing", steps: append(append(fails(0, 4),
			step{do: "ignore", state: breakerClosed}, step{do: "ignore", state: breakerClosed}),
			step{do: "fail", state: breakerOpen, opened: s}),
		},
		{name: "outcomes leave the window", steps: append(append(fails(0, 4),
			fails(10*s, 4)...), // the first four expired: four in the window
			step{at: 10 * s, do: "fail", state: breakerOpen, opened: s}),
		},
		{name: "an outcome counts for between 0.9 and 1 window", steps: append(append(fails(0, 2),
			fails(ms(9050), 2)...), // at 9.95s the bucket of 0s is the oldest of ten: still counted
			step{at: ms(9950), do: "fail", state: breakerOpen, opened: s}),
		},
		{name: "open refuses with the time left, half-open after the cooldown", steps: append(trip(0),
			step{at: ms(1), do: "refused", wait: ms(999), state: breakerOpen},
			step{at: ms(999), do: "refused", wait: ms(1), state: breakerOpen},
			step{at: s, do: "check", state: breakerHalfOpen},
		)},
		{name: "a probe that succeeds closes it and the window starts afresh", steps: append(trip(0),
			step{at: s, do: "ok", state: breakerClosed},
			step{at: s, do: "fail", state: breakerClosed},
			step{at: s, do: "fail", state: breakerClosed},
		)},
		{name: "failed probes double the cooldown up to the max", steps: append(trip(0),
			step{at: s, do: "fail", state: breakerOpen, opened: 2 * s},
			step{at: 2 * s, do: "refused", wait: s, state: breakerOpen},
			step{at: 3 * s, do: "fail", state: breakerOpen, opened: 4 * s},
			step{at: 7 * s, do: "fail", state: breakerOpen, opened: 4 * s},
			step{at: 11 * s, do: "ok", state: breakerClosed},
		)},
		{name: "after closing, the cooldown starts again from the base", steps: append(append(append(trip(0),
			step{at: s, do: "fail", state: breakerOpen, opened: 2 * s},
			step{at: 3 * s, do: "ok", state: breakerClosed}),
			trip(3*s)...),
			step{at: 4 * s, do: "check", state: breakerHalfOpen},
		)},
		{name: "half-open runs at most Probes tasks at once", cfg: func(c *BreakerConfig) { c.Probes = 2 }, steps: append(trip(0),
			step{at: s, do: "take", state: breakerHalfOpen},
			step{at: s, do: "take", state: breakerHalfOpen},
			step{at: s, do: "refused", wait: 0, state: breakerHalfOpen},
			step{at: s, do: "end-ignore", state: breakerHalfOpen}, // frees a probe, decides nothing
			step{at: s, do: "take", state: breakerHalfOpen},
			step{at: s, do: "refused", wait: 0, state: breakerHalfOpen},
			step{at: s, do: "end-fail", state: breakerOpen, opened: 2 * s},
			step{at: s, do: "end-ok", state: breakerOpen}, // a probe of the earlier half-open: too late
			step{at: 3 * s, do: "ok", state: breakerClosed},
		)},
		{name: "outcomes of tasks admitted before the breaker opened count for nothing", steps: append(append(
			[]step{{do: "take", state: breakerClosed}, {do: "take", state: breakerClosed}},
			trip(0)...),
			step{at: ms(10), do: "end-fail", state: breakerOpen},
			step{at: s, do: "check", state: breakerHalfOpen},
			step{at: s, do: "end-ok", state: breakerHalfOpen}, // not a probe
		)},
		{name: "a failure ratio of 1 needs only failures", cfg: func(c *BreakerConfig) { c.FailureRatio = 1; c.MinRequests = 2 }, steps: []step{
			{do: "fail", state: breakerClosed}, {do: "ok", state: breakerClosed}, {do: "fail", state: breakerClosed},
			{at: 11 * s, do: "fail", state: breakerClosed}, {at: 11 * s, do: "fail", state: breakerOpen, opened: s},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testBreakerConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			require.NoError(t, cfg.Validate())
			b := newBreaker(cfg)
			start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
			var held []ticket
			for i, st := range tc.steps {
				now := start.Add(st.at)
				desc := fmt.Sprintf("step %d (%s at %s)", i, st.do, st.at)
				var opened []transition
				note := func(tr transition) {
					if tr.changed() && tr.to == breakerOpen {
						opened = append(opened, tr)
					}
				}
				switch st.do {
				case "ok", "fail", "ignore", "take":
					tk, _, ok, tr := b.allow(now)
					note(tr)
					require.True(t, ok, "%s: admitted", desc)
					o := map[string]outcome{"ok": outcomeSuccess, "fail": outcomeFailure, "ignore": outcomeIgnored}
					if st.do == "take" {
						held = append(held, tk)
						break
					}
					note(b.done(tk, o[st.do], now))
				case "end-ok", "end-fail", "end-ignore":
					require.NotEmpty(t, held, desc)
					o := map[string]outcome{"end-ok": outcomeSuccess, "end-fail": outcomeFailure, "end-ignore": outcomeIgnored}
					note(b.done(held[0], o[st.do], now))
					held = held[1:]
				case "refused":
					_, wait, ok, tr := b.allow(now)
					note(tr)
					require.False(t, ok, "%s: refused", desc)
					assert.Equal(t, st.wait, wait, "%s: wait", desc)
					bw, open := b.blocked(now)
					assert.Equal(t, st.wait > 0, open, "%s: blocked while open", desc)
					assert.Equal(t, max(st.wait, 0), bw, "%s: blocked wait", desc)
				case "check":
				default:
					t.Fatalf("%s: unknown action", desc)
				}
				state, tr := b.current(now)
				note(tr)
				assert.Equal(t, st.state, state, desc)
				if st.opened > 0 {
					if assert.Len(t, opened, 1, "%s: opens", desc) {
						assert.Equal(t, st.opened, opened[0].cooldown, "%s: cooldown", desc)
					}
				} else {
					assert.Empty(t, opened, "%s: does not open", desc)
				}
			}
		})
	}
}

func TestBreakerTransitionsAreReportedOnce(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	var got []string
	s := newBreakers(testBreakerConfig(), []string{"a", "b"}, func() time.Time { return now }, func(op string, tr transition, refused uint64) {
		got = append(got, fmt.Sprintf("%s %s>%s %s refused=%d", op, tr.from, tr.to, tr.cooldown, refused))
	})
	for range 5 {
		p, _, ok := s.allow("a")
		require.True(t, ok)
		p.done(outcomeFailure)
	}
	assert.Equal(t, map[string]string{"a": "open", "b": "closed"}, s.states())
	now = now.Add(300 * time.Millisecond)
	delay, refuse := s.blocked("a")
	assert.True(t, refuse)
	assert.Equal(t, 700*time.Millisecond, delay, "the time left of the cooldown")
	_, delay, ok := s.allow("a")
	assert.False(t, ok)
	assert.Equal(t, 700*time.Millisecond, delay)
	_, refuse = s.blocked("b")
	assert.False(t, refuse, "other ops run")
	p, _, ok := s.allow("unknown")
	assert.True(t, ok, "an op without a breaker runs")
	p.done(outcomeFailure) // the zero permit ignores it

	now = now.Add(time.Second)
	assert.Equal(t, map[string]string{"a": "half_open", "b": "closed"}, s.states())
	assert.Equal(t, map[string]string{"a": "half_open", "b": "closed"}, s.states(), "reported once")
	probe, _, ok := s.allow("a")
	require.True(t, ok)
	_, delay, ok = s.allow("a")
	assert.False(t, ok, "one probe at a time")
	assert.Equal(t, 2*time.Second, delay, "half-open: RefuseDelay")
	probe.done(outcomeSuccess)
	assert.Equal(t, uint64(3), s.refusedTotal())
	assert.Equal(t, []string{
		"a closed>open 1s refused=0",
		"a open>half_open 0s refused=2",
		"a half_open>closed 0s refused=3",
	}, got)

	off := newBreakers(BreakerConfig{}, []string{"a"}, time.Now, nil)
	assert.Nil(t, off.states(), "off: nothing in the registration")
	for range 20 {
		p, _, ok := off.allow("a")
		require.True(t, ok, "off: every task runs")
		p.done(outcomeFailure)
	}
}

func TestBreakerRefuseDelayIsCapped(t *testing.T) {
	t.Parallel()
	s := newBreakers(testBreakerConfig(), nil, time.Now, nil)
	for _, tc := range []struct{ wait, want time.Duration }{
		{0, 2 * time.Second},
		{time.Millisecond, time.Millisecond},
		{2 * time.Second, 2 * time.Second},
		{time.Minute, 2 * time.Second},
	} {
		assert.Equal(t, tc.want, s.delay(tc.wait), tc.wait)
	}
}

func TestOutcomeOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		err, cause error
		want       outcome
	}{
		{"success", nil, nil, outcomeSuccess},
		{"success while draining", nil, ErrDraining, outcomeSuccess},
		{"op error", errors.New("disk on fire"), nil, outcomeFailure},
		{"timeout", &timeoutError{after: time.Second}, nil, outcomeFailure},
		{"panic", errors.New("op x panicked: boom"), nil, outcomeFailure},
		{"bad params", Permanent(errors.New("params of x: bad")), nil, outcomeIgnored},
		{"unknown op", Permanent(fmt.Errorf("%w %q", ErrUnknownOp, "x")), nil, outcomeIgnored},
		{"result not JSON", Permanent(&badResultError{op: "x"}), nil, outcomeFailure},
		{"job cancelled", context.Canceled, ErrJobCancelled, outcomeIgnored},
		{"drain hand-back", context.Canceled, ErrDraining, outcomeIgnored},
	} {
		assert.Equal(t, tc.want, outcomeOf(tc.err, tc.cause), tc.name)
	}
}

func TestBreakerConfigValidate(t *testing.T) {
	t.Parallel()
	require.NoError(t, DefaultBreakerConfig().Validate())
	require.NoError(t, BreakerConfig{}.Validate(), "off needs nothing else")
	err := BreakerConfig{Enabled: true, FailureRatio: 1.5, Cooldown: time.Minute, MaxCooldown: time.Second}.Validate()
	require.Error(t, err)
	for _, want := range []string{"window", "min_requests", "failure_ratio", "max_cooldown", "probes", "refuse_delay"} {
		assert.Contains(t, err.Error(), want)
	}
}
