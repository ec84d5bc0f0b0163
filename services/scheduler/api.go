package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	"github.com/rs/zerolog"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/pipeline"
)

// api serves geo.api.<tenant>.jobs.{submit,get,cancel,list}. Reads come from
// KV, so any scheduler replica can answer them; writes are validated and
// then stored in the JOBS stream, the one intake path.
type api struct {
	cfg     Config
	js      jetstream.JetStream
	jobsKV  jetstream.KeyValue
	tasksKV jetstream.KeyValue
	log     zerolog.Logger
}

const apiTimeout = 10 * time.Second

func (a *api) start(nc *nats.Conn) (micro.Service, error) {
	svc, err := micro.AddService(nc, micro.Config{
		Name:        events.APIServiceName,
		Version:     a.cfg.APIVersion,
		Description: "geocluster jobs API: submit, get, cancel, list, pipeline",
	})
	if err != nil {
		return nil, fmt.Errorf("add micro service: %w", err)
	}
	g := svc.AddGroup(events.APIGroupWildcard)
	for verb, h := range map[string]micro.HandlerFunc{
		events.APIVerbSubmit:   a.submit,
		events.APIVerbGet:      a.get,
		events.APIVerbCancel:   a.cancel,
		events.APIVerbList:     a.list,
		events.APIVerbPipeline: a.pipeline,
	} {
		if err := g.AddEndpoint(verb, h); err != nil {
			_ = svc.Stop()
			return nil, fmt.Errorf("add endpoint %s: %w", verb, err)
		}
	}
	return svc, nil
}

func (a *api) fail(req micro.Request, code int, err error) {
	body, _ := json.Marshal(events.APIError{Code: code, Error: err.Error(), Field: events.FieldOf(err)})
	_ = req.Error(strconv.Itoa(code), err.Error(), body)
}

func tenantOf(req micro.Request) string {
	t, _ := events.TenantFromAPISubject(req.Subject())
	return t
}

func (a *api) submit(req micro.Request) {
	tenant := tenantOf(req)
	spec, err := events.DecodeJob(req.Data())
	if err == nil {
		err = spec.Validate(tenant, a.cfg.Ops, a.cfg.Limits)
	}
	if err != nil {
		code := 400
		if errors.Is(err, events.ErrTooLarge) {
			code = 413
		}
		a.fail(req, code, err)
		return
	}
	a.store(req, tenant, spec)
}

// pipeline plans the raster pipeline of the request (libs/pipeline) and
// submits the job it makes, as submit would.
func (a *api) pipeline(req micro.Request) {
	tenant := tenantOf(req)
	r, err := pipeline.DecodeRequest(req.Data())
	if err != nil {
		a.fail(req, 400, err)
		return
	}
	if r.ID == "" {
		r.ID = r.Op + "-" + events.NewID()
	}
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	store, err := a.js.ObjectStore(ctx, events.ObjectTiles)
	if err != nil {
		a.fail(req, 503, fmt.Errorf("open %s: %w", events.ObjectTiles, err))
		return
	}
	ps, err := r.Spec(ctx, store)
	if err != nil {
		a.fail(req, 400, err)
		return
	}
	spec, err := pipeline.Plan(ps)
	if err != nil {
		a.fail(req, 400, err)
		return
	}
	spec.Tenant = tenant
	if err := spec.Validate(tenant, a.cfg.Ops, a.cfg.Limits); err != nil {
		code := 400
		if errors.Is(err, events.ErrTooLarge) {
			code = 413
		}
		a.fail(req, code, err)
		return
	}
	a.store(req, tenant, spec)
}

// store stores a valid job in JOBS, the one intake path, and replies.
func (a *api) store(req micro.Request, tenant string, spec events.JobSpec) {
	if spec.ID == "" {
		spec.ID = events.NewID()
	}
	data, err := json.Marshal(spec)
	if err != nil {
		a.fail(req, 500, err)
		return
	}
	msg := &nats.Msg{Subject: events.JobSubmitSubject(tenant), Data: data, Header: nats.Header{}}
	events.InjectTrace(events.ExtractTrace(context.Background(), nats.Header(req.Headers())), msg.Header)
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	ack, err := a.js.PublishMsg(ctx, msg, jetstream.WithMsgID(events.JobMsgID(tenant, spec.ID)))
	if err != nil {
		a.fail(req, 503, fmt.Errorf("store submission: %w", err))
		return
	}
	_ = req.RespondJSON(events.SubmitReply{V: events.Version, JobID: spec.ID, Tenant: tenant, Seq: ack.Sequence, Duplicate: ack.Duplicate})
}

func (a *api) getJob(ctx context.Context, tenant, id string) (events.JobRecord, int, error) {
	var rec events.JobRecord
	if !events.ValidToken(id) {
		return rec, 400, &events.ValidationError{Field: "job_id", Reason: fmt.Sprintf("%q is not a valid job id", id)}
	}
	e, err := a.jobsKV.Get(ctx, events.JobKey(tenant, id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return rec, 404, fmt.Errorf("job %s not found for tenant %s", id, tenant)
	}
	if err != nil {
		return rec, 503, fmt.Errorf("read job: %w", err)
	}
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return rec, 500, fmt.Errorf("decode job record: %w", err)
	}
	return rec, 0, nil
}

func decodeRequest(data []byte, v any) error {
	if len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return &events.ValidationError{Reason: "malformed JSON request: " + err.Error()}
	}
	return nil
}

func (a *api) get(req micro.Request) {
	var gr events.GetRequest
	if err := decodeRequest(req.Data(), &gr); err != nil {
		a.fail(req, 400, err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	tenant := tenantOf(req)
	rec, code, err := a.getJob(ctx, tenant, gr.JobID)
	if err != nil {
		a.fail(req, code, err)
		return
	}
	reply := events.GetReply{V: events.Version, Job: rec}
	if gr.Tasks {
		lister, err := a.tasksKV.ListKeysFiltered(ctx, events.TaskKeysOfJob(tenant, rec.ID))
		if err != nil && !errors.Is(err, jetstream.ErrNoKeysFound) {
			a.fail(req, 503, fmt.Errorf("list tasks: %w", err))
			return
		}
		if lister != nil {
			for k := range lister.Keys() {
				e, err := a.tasksKV.Get(ctx, k)
				if err != nil {
					continue // deleted meanwhile
				}
				var tr events.TaskRecord
				if json.Unmarshal(e.Value(), &tr) == nil {
					reply.Tasks = append(reply.Tasks, tr)
				}
			}
		}
		sort.Slice(reply.Tasks, func(i, j int) bool { return reply.Tasks[i].Spec.ID < reply.Tasks[j].Spec.ID })
	}
	_ = req.RespondJSON(reply)
}

func (a *api) list(req micro.Request) {
	var lr events.ListRequest
	if err := decodeRequest(req.Data(), &lr); err != nil {
		a.fail(req, 400, err)
		return
	}
	if lr.Limit <= 0 {
		lr.Limit = 50
	}
	lr.Limit = min(lr.Limit, 1000)
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	reply := events.ListReply{V: events.Version, Jobs: []events.JobRecord{}}
	lister, err := a.jobsKV.ListKeysFiltered(ctx, events.JobKeysOfTenant(tenantOf(req)))
	if err != nil && !errors.Is(err, jetstream.ErrNoKeysFound) {
		a.fail(req, 503, fmt.Errorf("list jobs: %w", err))
		return
	}
	if lister != nil {
		for k := range lister.Keys() {
			e, err := a.jobsKV.Get(ctx, k)
			if err != nil {
				continue
			}
			var rec events.JobRecord
			if json.Unmarshal(e.Value(), &rec) != nil || (lr.State != "" && rec.State != lr.State) {
				continue
			}
			reply.Jobs = append(reply.Jobs, rec)
		}
	}
	sort.Slice(reply.Jobs, func(i, j int) bool { return reply.Jobs[i].SubmittedAt.After(reply.Jobs[j].SubmittedAt) })
	if len(reply.Jobs) > lr.Limit {
		reply.Jobs = reply.Jobs[:lr.Limit]
	}
	_ = req.RespondJSON(reply)
}

func (a *api) cancel(req micro.Request) {
	cr, err := events.DecodeCancel(req.Data())
	if err != nil {
		a.fail(req, 400, err)
		return
	}
	tenant := tenantOf(req)
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	rec, code, err := a.getJob(ctx, tenant, cr.JobID)
	if err != nil {
		a.fail(req, code, err)
		return
	}
	if rec.State.Terminal() {
		a.fail(req, 409, fmt.Errorf("job %s is already %s", rec.ID, rec.State))
		return
	}
	cr.V = events.Version
	data, _ := json.Marshal(cr)
	ack, err := a.js.Publish(ctx, events.JobCancelSubject(tenant), data)
	if err != nil {
		a.fail(req, 503, fmt.Errorf("store cancel request: %w", err))
		return
	}
	_ = req.RespondJSON(events.CancelReply{V: events.Version, JobID: cr.JobID, Seq: ack.Sequence})
}
