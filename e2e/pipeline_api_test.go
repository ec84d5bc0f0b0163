package e2e_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/pipeline"
)

// TestPipelineJobKindFromAnyNATSClient: a pipeline sent as JSON to
// geo.api.<tenant>.jobs.pipeline (a plain NATS request, no planning in the
// client) is planned by the scheduler and runs; its output is pixel for
// pixel the single-process hillshade. Bad requests are refused with the
// field named.
func TestPipelineJobKindFromAnyNATSClient(t *testing.T) {
	t.Parallel()
	dem := needData(t, "localtileserver_co_elevation_roi.tif")
	cl := start(t, 2, nil, nil)
	store, err := cl.js.ObjectStore(context.Background(), events.ObjectTiles)
	require.NoError(t, err)
	_, err = pipeline.Upload(context.Background(), store, dem, "inputs/dem.tif", "the real DEM")
	require.NoError(t, err)

	m := cl.api(t, events.APIVerbPipeline, []byte(`{"id": "by-api", "op": "hillshade", "inputs": [{"object": "inputs/dem.tif"}],
		"tile_size": 512, "scale": 111120, "xyz": {"min_zoom": 10, "max_zoom": 11}}`))
	require.Empty(t, m.Header.Get("Nats-Service-Error"), string(m.Data))
	var reply events.SubmitReply
	require.NoError(t, json.Unmarshal(m.Data, &reply))
	assert.Equal(t, "by-api", reply.JobID)
	rec := cl.waitJob(t, "by-api", 2*time.Minute)
	require.Equal(t, events.JobSucceeded, rec.State, rec.Error)
	assert.Equal(t, 7, rec.Total, "a cut, 4 tiles of 512, the assemble and the web-map tiles")

	requireSamePixels(t, singleProcessHillshade(t, dem), cl.download(t, rec.Labels["output"]))

	_, err = store.PutBytes(context.Background(), "inputs/bare.tif", []byte("not uploaded by geoctl"))
	require.NoError(t, err)
	for _, c := range []struct{ body, field string }{
		{`{"op": "hillshade", "inputs": [{"object": "inputs/bare.tif"}]}`, "inputs[0].object"},
		{`{"op": "hillshade", "inputs": [{"object": "inputs/none.tif"}]}`, "inputs[0].object"},
		{`{"op": "hillshade", "inputs": [{"path": "/data/dem.tif"}]}`, "inputs[0].width"},
		{`{"op": "hillshade", "inputs": [{"path": "dem.tif", "width": 10, "height": 10}]}`, "inputs[0].path"},
		{`{"op": "hillshade", "inputs": []}`, "inputs"},
		{`{"op": "hillshade", "inputs": [{"object": "inputs/dem.tif"}], "tile_sise": 512}`, ""},
	} {
		m := cl.api(t, events.APIVerbPipeline, []byte(c.body))
		assert.Equal(t, "400", m.Header.Get("Nats-Service-Error-Code"), c.body)
		var e events.APIError
		require.NoError(t, json.Unmarshal(m.Data, &e), string(m.Data))
		assert.Equal(t, c.field, e.Field, "%s: %s", c.body, e.Error)
	}
}
