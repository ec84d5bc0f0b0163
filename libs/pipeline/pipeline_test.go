package pipeline_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/pipeline"
)

func TestPlanBuildsAValidDAG(t *testing.T) {
	t.Parallel()
	job, err := pipeline.Plan(pipeline.Spec{ID: "p", Op: pipeline.Hillshade, TileSize: 256,
		Inputs: []pipeline.Input{{Object: "dem.tif", Width: 1007, Height: 633}}, XYZ: &pipeline.XYZ{MinZoom: 1, MaxZoom: 2}})
	require.NoError(t, err)
	// cut + 4 x 3 tiles + assemble + xyz
	require.Len(t, job.Tasks, 1+12+1+1)
	assert.Equal(t, "jobs/p/hillshade.tif", job.Labels["output"])
	data, err := json.Marshal(job)
	require.NoError(t, err)
	decoded, err := events.DecodeJob(data)
	require.NoError(t, err)
	require.NoError(t, decoded.Validate("default", events.PlatformOps(), events.Limits{}))
}

func TestPlanRefusesWhatTheSchedulerWouldReject(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		spec pipeline.Spec
		want string
	}{
		{pipeline.Spec{ID: "big", Op: pipeline.Hillshade, TileSize: 16, Inputs: []pipeline.Input{{Object: "x", Width: 30000, Height: 30000}}}, "use larger tiles"},
		{pipeline.Spec{ID: "two", Op: pipeline.Slope, Inputs: []pipeline.Input{{Object: "a", Width: 10, Height: 10}, {Object: "b", Width: 10, Height: 10}}}, "takes one input"},
		{pipeline.Spec{ID: "mis", Op: pipeline.BandMath, Expr: "b1+b2", Inputs: []pipeline.Input{{Object: "a", Width: 10, Height: 10}, {Object: "b", Width: 11, Height: 10}}}, "differ in size"},
		{pipeline.Spec{ID: "expr", Op: pipeline.BandMath, Expr: "b1 +", Inputs: []pipeline.Input{{Object: "a", Width: 10, Height: 10}}}, "expression"},
		{pipeline.Spec{ID: "bad.id", Op: pipeline.Hillshade, Inputs: []pipeline.Input{{Object: "a", Width: 10, Height: 10}}}, "not a valid job id"},
		{pipeline.Spec{ID: "op", Op: "warp", Inputs: []pipeline.Input{{Object: "a", Width: 10, Height: 10}}}, "unknown pipeline op"},
	} {
		_, err := pipeline.Plan(c.spec)
		require.Error(t, err, c.spec.ID)
		assert.Contains(t, err.Error(), c.want, c.spec.ID)
	}
}

func TestTileParamsOutOfBoundsAreRejectedBeforeAnyWorkerAllocates(t *testing.T) {
	t.Parallel()
	ops := events.PlatformOps()
	err := ops[events.OpTileAssemble](json.RawMessage(`{"grid":{"width":1048576,"height":1048576,"tile_size":16},"prefix":"p","output":"o"}`))
	require.ErrorIs(t, err, events.ErrTooLarge)
	err = ops[events.OpTileHillshade](json.RawMessage(`{"input":"i","output":"o","tile":{"object":"o","core":{"x":9223372036854775807,"y":0,"w":1,"h":1},"read":{"x":0,"y":0,"w":1,"h":1}}}`))
	require.ErrorIs(t, err, events.ErrInvalid)
}

func TestPathInputsPlanNoCutAndFloatWebTilesNeedAStretch(t *testing.T) {
	job, err := pipeline.Plan(pipeline.Spec{ID: "p", Op: pipeline.BandMath, Expr: "b1*2", TileSize: 100,
		Inputs: []pipeline.Input{{Path: "/data/a.tif", Width: 250, Height: 120}}})
	require.NoError(t, err)
	for _, task := range job.Tasks {
		assert.NotEqual(t, events.OpTileCut, task.Op)
	}
	data, err := json.Marshal(job)
	require.NoError(t, err)
	decoded, err := events.DecodeJob(data)
	require.NoError(t, err)
	require.NoError(t, decoded.Validate("default", events.PlatformOps(), events.Limits{}))

	_, err = pipeline.Plan(pipeline.Spec{ID: "p", Op: pipeline.BandMath, Expr: "b1", Inputs: []pipeline.Input{{Path: "/a.tif", Object: "a", Width: 9, Height: 9}}})
	assert.ErrorContains(t, err, "one of the two")
	_, err = pipeline.Plan(pipeline.Spec{ID: "p", Op: pipeline.Slope, Inputs: []pipeline.Input{{Object: "a", Width: 9, Height: 9}}, XYZ: &pipeline.XYZ{MinZoom: 1, MaxZoom: 2}})
	assert.ErrorContains(t, err, "min < max")
}

func TestTilesOnTheCOGBlocksWriteParts(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		tile  int
		parts bool
	}{{512, true}, {2048, true}, {256, false}, {1000, false}} {
		job, err := pipeline.Plan(pipeline.Spec{ID: "p", Op: pipeline.Hillshade, TileSize: c.tile,
			Inputs: []pipeline.Input{{Path: "/data/dem.tif", Width: 3000, Height: 1100}}})
		require.NoError(t, err)
		data, err := json.Marshal(job)
		require.NoError(t, err)
		decoded, err := events.DecodeJob(data)
		require.NoError(t, err)
		require.NoError(t, decoded.Validate("default", events.PlatformOps(), events.Limits{}))
		for _, task := range job.Tasks {
			switch task.Op {
			case events.OpTileHillshade:
				var p events.TileTerrainParams
				require.NoError(t, json.Unmarshal(task.Params, &p))
				if !c.parts {
					assert.Nil(t, p.Part, "tile %d", c.tile)
					continue
				}
				require.NotNil(t, p.Part, "tile %d", c.tile)
				assert.Equal(t, events.TilePart{X: p.Tile.Core.X, Y: p.Tile.Core.Y, Width: 3000, Height: 1100}, *p.Part)
			case events.OpTileAssemble:
				var p events.TileAssembleParams
				require.NoError(t, json.Unmarshal(task.Params, &p))
				assert.Equal(t, c.parts, p.Parts, "tile %d", c.tile)
			}
		}
	}
}

func TestPartParamsAreCheckedByField(t *testing.T) {
	t.Parallel()
	ops := events.PlatformOps()
	tile := `"tile":{"object":"o","core":{"x":512,"y":0,"w":512,"h":512},"read":{"x":511,"y":0,"w":514,"h":513}}`
	for _, c := range []struct {
		op, params, field string
	}{
		{events.OpTileHillshade, `{"input_path":"/d/a.tif","output":"o",` + tile + `,"part":{"x":512,"y":0,"width":0,"height":10}}`, "part.width"},
		{events.OpTileHillshade, `{"input_path":"/d/a.tif","output":"o",` + tile + `,"part":{"x":512,"y":0,"width":500,"height":600}}`, "part.x"},
		{events.OpTileHillshade, `{"input_path":"/d/a.tif","output":"o",` + tile + `,"part":{"x":0,"y":0,"width":2000,"height":600}}`, "part.x"},
		{events.OpTileBandMath, `{"inputs":["a"],"output":"o","expr":"b1","part":{"x":-1,"y":0,"width":10,"height":10}}`, "part.x"},
		{events.OpTileBandMath, `{"inputs":["a"],"output":"o","expr":"b1","part":{"x":0,"y":0,"width":10,"height":10,"level":10}}`, "part.level"},
		{events.OpTileAssemble, `{"grid":{"width":100,"height":100,"tile_size":512},"prefix":"p","output":"o","parts":true,"level":-1}`, "level"},
	} {
		err := ops[c.op](json.RawMessage(c.params))
		require.ErrorIs(t, err, events.ErrInvalid, c.params)
		assert.Equal(t, c.field, events.FieldOf(err), c.params)
	}
	ok := `{"input_path":"/d/a.tif","output":"o",` + tile + `,"part":{"x":512,"y":0,"width":2000,"height":600}}`
	require.NoError(t, ops[events.OpTileHillshade](json.RawMessage(ok)))
}

func TestCOGLevelReachesTheTasksThatCompress(t *testing.T) {
	t.Parallel()
	in := []pipeline.Input{{Path: "/data/dem.tif", Width: 1100, Height: 700}}
	job, err := pipeline.Plan(pipeline.Spec{ID: "p", Op: pipeline.Hillshade, TileSize: 512, COGLevel: 1, Inputs: in})
	require.NoError(t, err)
	for _, task := range job.Tasks {
		switch task.Op {
		case events.OpTileHillshade:
			var p events.TileTerrainParams
			require.NoError(t, json.Unmarshal(task.Params, &p))
			require.NotNil(t, p.Part)
			assert.Equal(t, 1, p.Part.Level)
		case events.OpTileAssemble:
			var p events.TileAssembleParams
			require.NoError(t, json.Unmarshal(task.Params, &p))
			assert.Equal(t, 1, p.Level)
		}
	}
	for _, c := range []pipeline.Spec{
		{ID: "p", Op: pipeline.Hillshade, TileSize: 512, COGLevel: 10, Inputs: in},
		{ID: "p", Op: pipeline.Hillshade, TileSize: 256, COGLevel: 1, Inputs: in},
	} {
		_, err := pipeline.Plan(c)
		assert.ErrorContains(t, err, "cog level", "%+v", c)
	}
}

func TestCOGCompressionReachesTheTasksThatCompress(t *testing.T) {
	t.Parallel()
	in := []pipeline.Input{{Path: "/data/dem.tif", Width: 1100, Height: 700}}
	job, err := pipeline.Plan(pipeline.Spec{ID: "p", Op: pipeline.Hillshade, TileSize: 512, COGCompression: events.COGNone, Inputs: in})
	require.NoError(t, err)
	seen := 0
	for _, task := range job.Tasks {
		switch task.Op {
		case events.OpTileHillshade:
			var p events.TileTerrainParams
			require.NoError(t, json.Unmarshal(task.Params, &p))
			require.NotNil(t, p.Part)
			assert.Equal(t, events.COGNone, p.Part.Compression)
			seen++
		case events.OpTileAssemble:
			var p events.TileAssembleParams
			require.NoError(t, json.Unmarshal(task.Params, &p))
			assert.Equal(t, events.COGNone, p.Compression)
			seen++
		}
	}
	assert.Equal(t, 7, seen, "6 tile tasks and the assemble")
	for _, c := range []pipeline.Spec{
		{ID: "p", Op: pipeline.Hillshade, TileSize: 512, COGCompression: events.COGNone, COGLevel: 1, Inputs: in},
		{ID: "p", Op: pipeline.Hillshade, TileSize: 256, COGCompression: events.COGNone, Inputs: in},
		{ID: "p", Op: pipeline.Hillshade, TileSize: 512, COGCompression: "lzw", Inputs: in},
	} {
		_, err := pipeline.Plan(c)
		assert.ErrorContains(t, err, "cog compression", "%+v", c)
	}
}

// An output path reaches the assemble task instead of an object, is named
// by the job's output_path label, and is refused relative, beside an
// output object or with web-map tiles (which render the object), by Plan
// and by a Request alike (naming the field).
func TestOutputPathReachesTheAssembleTask(t *testing.T) {
	t.Parallel()
	in := []pipeline.Input{{Path: "/data/dem.tif", Width: 1200, Height: 700}}
	job, err := pipeline.Plan(pipeline.Spec{ID: "p", Op: pipeline.Hillshade, TileSize: 512, Inputs: in, OutputPath: "/data/out/hs.tif"})
	require.NoError(t, err)
	assert.Equal(t, "/data/out/hs.tif", job.Labels[pipeline.LabelOutputPath])
	assert.NotContains(t, job.Labels, pipeline.LabelOutput)
	var p events.TileAssembleParams
	require.Equal(t, events.OpTileAssemble, job.Tasks[len(job.Tasks)-1].Op)
	require.NoError(t, json.Unmarshal(job.Tasks[len(job.Tasks)-1].Params, &p))
	assert.Equal(t, "/data/out/hs.tif", p.OutputPath)
	assert.Empty(t, p.Output)
	assert.True(t, p.Parts)
	data, err := json.Marshal(job)
	require.NoError(t, err)
	decoded, err := events.DecodeJob(data)
	require.NoError(t, err)
	require.NoError(t, decoded.Validate("default", events.PlatformOps(), events.Limits{}))

	for _, c := range []struct {
		spec pipeline.Spec
		want string
	}{
		{pipeline.Spec{ID: "p", Op: pipeline.Hillshade, Inputs: in, OutputPath: "out/hs.tif"}, "not absolute"},
		{pipeline.Spec{ID: "p", Op: pipeline.Hillshade, Inputs: in, OutputPath: "/out/hs.tif", Output: "hs.tif"}, "not both"},
		{pipeline.Spec{ID: "p", Op: pipeline.Hillshade, Inputs: in, OutputPath: "/out/hs.tif", XYZ: &pipeline.XYZ{MinZoom: 1, MaxZoom: 2}}, "output object"},
	} {
		_, err := pipeline.Plan(c.spec)
		assert.ErrorContains(t, err, c.want)
	}

	for _, body := range []string{
		`{"op":"hillshade","inputs":[{"path":"/d/dem.tif","width":9,"height":9}],"output_path":"rel.tif"}`,
		`{"op":"hillshade","inputs":[{"path":"/d/dem.tif","width":9,"height":9}],"output_path":"/o/a.tif","output":"a.tif"}`,
		`{"op":"hillshade","inputs":[{"path":"/d/dem.tif","width":9,"height":9}],"output_path":"/o/a.tif","xyz":{"min_zoom":1,"max_zoom":2}}`,
	} {
		r, err := pipeline.DecodeRequest([]byte(body))
		require.NoError(t, err)
		_, err = r.Spec(t.Context(), nil)
		var ve *events.ValidationError
		require.ErrorAs(t, err, &ve, body)
		assert.Equal(t, "output_path", ve.Field, body)
	}
	r, err := pipeline.DecodeRequest([]byte(`{"op":"hillshade","inputs":[{"path":"/d/dem.tif","width":9,"height":9}],"output_path":"/o/a.tif"}`))
	require.NoError(t, err)
	s, err := r.Spec(t.Context(), nil)
	require.NoError(t, err)
	assert.Equal(t, "/o/a.tif", s.OutputPath)
}
