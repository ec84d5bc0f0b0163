package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
)

func TestAlertsSetListGetDelete(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	stdout, _, err := c.run(t, "alerts", "set", "hillshade_failures",
		"--expr", `rate(geo_task_failed_total{op="tile_hillshade"}[1m]) / rate(geo_task_done_total[1m]) > 0.1`,
		"--for", "2m", "--severity", "critical", "--label", "team=raster", "--summary", "hillshade failing")
	require.NoError(t, err)
	assert.Equal(t, "alert rule hillshade_failures written\n", stdout)
	_, _, err = c.run(t, "alerts", "set", "throughput_drop", "--expr", "rate(geo_task_done_total[1m])",
		"--detector", `{"type": "robust_z", "window": "10m", "threshold": 4, "direction": "down"}`)
	require.NoError(t, err)

	stdout, _, err = c.run(t, "alerts", "list")
	require.NoError(t, err)
	lines := splitLines(stdout)
	require.Len(t, lines, 3)
	assert.Regexp(t, `^NAME\s+SEVERITY\s+FOR\s+DETECTOR\s+EXPR$`, lines[0])
	assert.Regexp(t, `^hillshade_failures\s+critical\s+2m0s\s+-\s+rate\(geo_task_failed_total`, lines[1])
	assert.Regexp(t, `^throughput_drop\s+warning\s+0s\s+robust_z\s+rate\(geo_task_done_total\[1m\]\)$`, lines[2])

	// What is stored is the rule's JSON, readable by any NATS client.
	kv, err := c.js.KeyValue(context.Background(), events.BucketRules)
	require.NoError(t, err)
	e, err := kv.Get(context.Background(), "hillshade_failures")
	require.NoError(t, err)
	var stored map[string]any
	require.NoError(t, json.Unmarshal(e.Value(), &stored))
	assert.Equal(t, "critical", stored["severity"])
	assert.Equal(t, map[string]any{"team": "raster"}, stored["labels"])

	stdout, _, err = c.run(t, "alerts", "get", "hillshade_failures")
	require.NoError(t, err)
	assert.Contains(t, stdout, `"summary": "hillshade failing"`)

	stdout, _, err = c.run(t, "alerts", "delete", "throughput_drop")
	require.NoError(t, err)
	assert.Equal(t, "deleted alert rule throughput_drop\n", stdout)
	_, _, err = c.run(t, "alerts", "delete", "throughput_drop")
	assert.EqualError(t, err, `no alert rule "throughput_drop"`)
}

// A bad rule is refused before anything is written, with the field and,
// in an expression, the column of the bad token and a caret under it.
func TestAlertsSetRejectsABadRule(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	_, _, err := c.run(t, "alerts", "set", "bad", "--expr", "rate(geo_task_done_total[1m]) >> 2")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `rule "bad"`)
	assert.Contains(t, err.Error(), "expr: column 32")
	assert.Contains(t, err.Error(), "\n  rate(geo_task_done_total[1m]) >> 2\n  "+
		"                               ^")
	_, _, err = c.run(t, "alerts", "set", "Bad Name", "--expr", "geo_workers > 1")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "name")
	_, _, err = c.run(t, "alerts", "set", "sev", "--expr", "geo_workers > 1", "--severity", "urgent")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "severity")
	_, _, err = c.run(t, "alerts", "set", "dur", "--expr", "geo_workers > 1", "--for", "soon")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "for")

	kv, err := c.js.KeyValue(context.Background(), events.BucketRules)
	require.NoError(t, err)
	_, err = kv.Keys(context.Background())
	assert.Error(t, err, "nothing was written")
	stdout, _, err := c.run(t, "alerts", "list")
	require.NoError(t, err)
	assert.Equal(t, "no alert rules\n", stdout)
}

func TestAlertsWatchPrintsWhatTheMonitorPublishes(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	inv := c.start(t, "", nil, "alerts", "watch")
	// watch starts at new alerts: wait until its consumer exists.
	require.Eventually(t, func() bool {
		s, err := c.js.Stream(context.Background(), events.StreamAlerts)
		if err != nil {
			return false
		}
		info, err := s.Info(context.Background())
		return err == nil && info.State.Consumers == 1
	}, 10*time.Second, 10*time.Millisecond)
	msg := nats.NewMsg(events.AlertSubject("critical", "disk"))
	msg.Data = []byte(`{"v":1,"rule":"disk","severity":"critical","state":"firing","value":0.97,` +
		`"labels":{"node":"n1"},"summary":"disk almost full","at":"2026-11-25T10:00:00Z"}`)
	_, err := c.js.PublishMsg(context.Background(), msg)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return len(inv.stdout.String()) > 0
	}, 10*time.Second, 10*time.Millisecond)
	assert.Regexp(t, `^\d\d:\d\d:\d\d FIRING\s+critical disk value=0\.97 node=n1 disk almost full\n$`, inv.stdout.String())
}
