package replicator

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
)

func TestLoadConfigReadsTheEnvironmentOverTheDefaults(t *testing.T) {
	env := map[string]string{
		EnvID: "r-1", EnvLeaseTTL: "3s", EnvCheckEvery: "1s", EnvOfflineGrace: "45s",
		EnvStreams: "OBJ_geo_tiles,EVENTS", EnvScrubEvery: "0", EnvMirror: "on", EnvMirrorReplicas: "3",
		EnvMirrorTags: "zone:b", "GEO_REPLICAS": "3",
	}
	c, err := LoadConfig(func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, "r-1", c.ID)
	assert.Equal(t, 3*time.Second, c.LeaseTTL)
	assert.Equal(t, time.Second, c.CheckEvery)
	assert.Equal(t, 45*time.Second, c.OfflineGrace)
	assert.Equal(t, []string{"OBJ_geo_tiles", "EVENTS"}, c.Streams)
	assert.Zero(t, c.ScrubEvery)
	assert.Equal(t, Mirror{Bucket: events.ObjectTilesMirror, Replicas: 3, Tags: []string{"zone:b"}}, c.Mirror)
	assert.Equal(t, 3, c.Topology.Replicas)

	d, err := LoadConfig(func(string) string { return "" })
	require.NoError(t, err)
	assert.Equal(t, DefaultOfflineGrace, d.OfflineGrace)
	assert.Empty(t, d.Mirror.Bucket)
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := DefaultConfig()
	c.ID = "a.b"
	c.LeaseTTL = 10 * time.Millisecond
	c.CheckEvery = 0
	c.OfflineGrace = -time.Second
	c.Streams = []string{"A.B"}
	c.ChunkWait = 0
	c.Mirror = Mirror{Bucket: events.ObjectTiles, Replicas: 9}
	err := c.Validate()
	require.Error(t, err)
	for _, s := range []string{"id:", "lease_ttl:", "check_every:", "offline_grace:", "streams:", "chunk_wait:", "mirror.bucket:", "mirror.replicas:"} {
		assert.Contains(t, err.Error(), s)
	}
	_, err = LoadConfig(func(k string) string {
		return map[string]string{EnvCheckEvery: "soon"}[k]
	})
	assert.ErrorContains(t, err, EnvCheckEvery)
}
