package events_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/libs/events"
)

// The output COG's compression is deflate (default) or none, and an
// uncompressed COG takes no Deflate level; errors name the field.
func TestTileAssembleCompressionIsChecked(t *testing.T) {
	check := events.PlatformOps()[events.OpTileAssemble]
	require.NotNil(t, check)
	base := `{"grid":{"width":1024,"height":1024,"tile_size":512},"prefix":"p","output":"o.tif","parts":true`
	checkFields(t, check, base, []fieldCase{
		{`}`, ""},
		{`,"compression":"deflate","level":1}`, ""},
		{`,"compression":"none"}`, ""},
		{`,"compression":"none","level":3}`, "compression"},
		{`,"compression":"lzw"}`, "compression"},
	})
}

// The assemble writes to an object or to an absolute path, one of the two;
// errors name the field.
func TestTileAssembleOutputIsAnObjectOrAPath(t *testing.T) {
	check := events.PlatformOps()[events.OpTileAssemble]
	require.NotNil(t, check)
	base := `{"grid":{"width":1024,"height":1024,"tile_size":512},"prefix":"p"`
	checkFields(t, check, base, []fieldCase{
		{`,"output":"o.tif"}`, ""},
		{`,"output_path":"/data/out/o.tif"}`, ""},
		{`}`, "output"},
		{`,"output":"o.tif","output_path":"/data/out/o.tif"}`, "output_path"},
		{`,"output_path":"out/o.tif"}`, "output_path"},
	})
}

// fieldCase is params (base + tail) and the field its error names ("": valid).
type fieldCase struct{ tail, field string }

func checkFields(t *testing.T, check events.ParamsValidator, base string, cases []fieldCase) {
	t.Helper()
	for _, c := range cases {
		err := check(json.RawMessage(base + c.tail))
		if c.field == "" {
			assert.NoError(t, err, c.tail)
			continue
		}
		var ve *events.ValidationError
		require.ErrorAs(t, err, &ve, c.tail)
		assert.Equal(t, c.field, ve.Field, c.tail)
	}
}
