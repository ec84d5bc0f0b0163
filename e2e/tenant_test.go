package e2e_test

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

// TestTenantsMayUseTheSameJobID: job ids are unique per tenant; two tenants
// submitting the same id at once get two jobs, through the API and through
// the stream with and without a message id.
func TestTenantsMayUseTheSameJobID(t *testing.T) {
	t.Parallel()
	cl := start(t, 2, nil, nil)
	body := []byte(`{"id":"same","tasks":[{"id":"a","op":"noop"},{"id":"b","op":"noop","deps":["a"]}]}`)
	for _, tenant := range []string{"acme", "globex"} {
		var m *nats.Msg
		require.Eventually(t, func() bool { // the API may still be starting
			var err error
			m, err = cl.nc.Request(events.APISubject(tenant, events.APIVerbSubmit), body, 5*time.Second)
			return err == nil
		}, 10*time.Second, 20*time.Millisecond)
		var r events.SubmitReply
		require.NoError(t, json.Unmarshal(m.Data, &r), string(m.Data))
		assert.False(t, r.Duplicate, tenant)
	}
	for _, tenant := range []string{"initech", "hooli"} {
		_, err := cl.js.Publish(context.Background(), events.JobSubmitSubject(tenant), body)
		require.NoError(t, err)
	}
	kv, err := cl.js.KeyValue(context.Background(), events.BucketJobs)
	require.NoError(t, err)
	for _, tenant := range []string{"acme", "globex", "initech", "hooli"} {
		require.Eventually(t, func() bool {
			e, err := kv.Get(context.Background(), events.JobKey(tenant, "same"))
			if err != nil {
				return false
			}
			var rec events.JobRecord
			return json.Unmarshal(e.Value(), &rec) == nil && rec.State == events.JobSucceeded
		}, 30*time.Second, 20*time.Millisecond, "tenant %s", tenant)
	}
}
