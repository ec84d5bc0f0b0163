package natstest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/natstest"
)

func TestClusterR3StreamSurvivesStoppedNodeAndRestartRejoins(t *testing.T) {
	c := natstest.NewCluster(t, 3)
	_, js := c.JetStream(t, "test")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var s jetstream.Stream
	require.Eventually(t, func() bool {
		var err error
		s, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "R3", Subjects: []string{"r3.>"}, Replicas: 3})
		return err == nil
	}, natstest.FormTimeout, 50*time.Millisecond)
	publish := func(from, to int) {
		for i := from; i < to; i++ {
			// A stopped leader's streams elect a new one within seconds;
			// on a loaded CI machine, allow it more.
			// Each attempt has its own deadline: a request written to
			// the stopped node's socket just before it closed gets no
			// reply, and waiting on it would use up the whole window.
			require.Eventually(t, func() bool {
				actx, acancel := context.WithTimeout(ctx, 2*time.Second)
				defer acancel()
				_, err := js.Publish(actx, fmt.Sprintf("r3.%d", i), []byte("x"), jetstream.WithMsgID(fmt.Sprint(i)))
				return err == nil
			}, 3*natstest.FormTimeout, 20*time.Millisecond, "publish %d", i)
		}
	}
	publish(0, 10)

	// Stop a follower of the stream (the e2e replication test stops a
	// leader; here the point is the helper's Stop and Restart).
	info, err := s.Info(ctx)
	require.NoError(t, err)
	stopped := -1
	for i := range c.Size() {
		if c.Node(i) != info.Cluster.Leader {
			stopped = i
		}
	}
	require.GreaterOrEqual(t, stopped, 0, "a follower of %q", info.Cluster.Leader)
	c.Stop(stopped)
	c.WaitMetaLeader()

	publish(10, 20)
	require.Eventually(t, func() bool {
		m, err := s.GetMsg(ctx, 20)
		return err == nil && m.Subject == "r3.19"
	}, natstest.FormTimeout, 20*time.Millisecond)
	require.Eventually(t, func() bool {
		info, err := s.Info(ctx)
		if err != nil || info.Cluster == nil {
			return false
		}
		for _, r := range info.Cluster.Replicas {
			if r.Name == c.Node(stopped) {
				return r.Offline
			}
		}
		return false
	}, natstest.FormTimeout, 50*time.Millisecond, "the stopped node is reported offline")

	c.Restart(stopped)
	require.Eventually(t, func() bool {
		info, err := s.Info(ctx)
		if err != nil || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
			return false
		}
		for _, r := range info.Cluster.Replicas {
			if r.Offline || !r.Current {
				return false
			}
		}
		return info.State.Msgs == 20
	}, 20*time.Second, 50*time.Millisecond, "the restarted node catches up")
}

func TestClusterAddNodeJoins(t *testing.T) {
	c := natstest.NewCluster(t, 3)
	i := c.AddNode()
	assert.Equal(t, 4, c.Size())
	assert.Equal(t, "n3", c.Node(i))
	c.WaitPeers(4)
}
