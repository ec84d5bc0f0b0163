package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Limits bound what one job may ask for. Zero fields take the defaults.
type Limits struct {
	MaxTasks       int   // default 100000
	MaxDeps        int   // per task, default 10000
	MaxInputs      int   // per task, default 1000
	MaxParamsBytes int   // per task, default 65536
	MaxAttempts    int   // default 20
	MaxTimeoutMS   int64 // default 24h
}

// DefaultLimits are the limits a scheduler uses when none are configured.
var DefaultLimits = Limits{
	MaxTasks:       100000,
	MaxDeps:        10000,
	MaxInputs:      1000,
	MaxParamsBytes: 64 << 10,
	MaxAttempts:    20,
	MaxTimeoutMS:   24 * 3600 * 1000,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxTasks > 0 {
		d.MaxTasks = l.MaxTasks
	}
	if l.MaxDeps > 0 {
		d.MaxDeps = l.MaxDeps
	}
	if l.MaxInputs > 0 {
		d.MaxInputs = l.MaxInputs
	}
	if l.MaxParamsBytes > 0 {
		d.MaxParamsBytes = l.MaxParamsBytes
	}
	if l.MaxAttempts > 0 {
		d.MaxAttempts = l.MaxAttempts
	}
	if l.MaxTimeoutMS > 0 {
		d.MaxTimeoutMS = l.MaxTimeoutMS
	}
	return d
}

// DecodeJob decodes a job submission strictly: malformed JSON, unknown
// fields and wrong types are errors naming the field. It does not validate
// the DAG; call Validate for that.
func DecodeJob(data []byte) (JobSpec, error) {
	var j JobSpec
	if len(bytes.TrimSpace(data)) == 0 {
		return j, &ValidationError{Reason: "empty message: expected a JSON job", kind: ErrMalformed}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return JobSpec{}, locateTaskError(data, jsonError("", err))
	}
	if dec.More() {
		return JobSpec{}, &ValidationError{Reason: "trailing data after the JSON job", kind: ErrMalformed}
	}
	return j, nil
}

// locateTaskError finds which task an error of encoding/json belongs to
// (encoding/json reports "tasks.max_attempts" or a bare "depz", without the
// index) by decoding each task alone; it returns err when no task fails.
func locateTaskError(data []byte, err error) error {
	var probe struct {
		Tasks []json.RawMessage `json:"tasks"`
	}
	if json.Unmarshal(data, &probe) != nil {
		return err
	}
	for i, raw := range probe.Tasks {
		var t TaskSpec
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if terr := dec.Decode(&t); terr != nil {
			return jsonError(fmt.Sprintf("tasks[%d]", i), terr)
		}
	}
	return err
}

// Validate checks a job against the op catalog and limits: version, ids,
// tenant, ops and their params, priorities, deps (no dangling, no self, no
// duplicates, no cycle) and sizes. tenant is the tenant of the subject the
// job arrived on. The first problem found is returned as a
// *ValidationError naming the field.
func (j *JobSpec) Validate(tenant string, ops OpCatalog, lim Limits) error {
	lim = lim.withDefaults()
	if j.V != 0 && j.V != Version {
		return &ValidationError{Field: "v", Reason: fmt.Sprintf("version %d not supported (this build speaks %d)", j.V, Version), kind: ErrUnsupportedVersion}
	}
	if err := checkToken("tenant", tenant); err != nil {
		return err
	}
	if j.Tenant != "" && j.Tenant != tenant {
		return invalid("tenant", "%q does not match the subject's tenant %q", j.Tenant, tenant)
	}
	if j.ID != "" {
		if err := checkToken("id", j.ID); err != nil {
			return err
		}
	}
	if j.Priority != "" && !j.Priority.Valid() {
		return invalid("priority", "unknown priority %q (critical, high, normal, low)", j.Priority)
	}
	switch j.OnFailure {
	case "", FailJob, ContinueJob:
	default:
		return invalid("on_failure", "unknown policy %q (fail, continue)", j.OnFailure)
	}
	if err := checkAttempts("max_attempts", j.MaxAttempts, lim); err != nil {
		return err
	}
	if err := checkTimeout("timeout_ms", j.TimeoutMS, lim); err != nil {
		return err
	}
	if err := j.Retry.validate(); err != nil {
		return err
	}
	if len(j.Labels) > 64 {
		return tooLarge("labels", "%d labels, the limit is 64", len(j.Labels))
	}
	for k, v := range j.Labels {
		if k == "" || len(k) > 128 {
			return invalid("labels", "label keys must be 1 to 128 characters")
		}
		if len(v) > 1024 {
			return tooLarge("labels."+k, "values are at most 1024 bytes")
		}
	}
	if len(j.Tasks) == 0 {
		return invalid("tasks", "a job needs at least one task")
	}
	if len(j.Tasks) > lim.MaxTasks {
		return tooLarge("tasks", "%d tasks, the limit is %d", len(j.Tasks), lim.MaxTasks)
	}
	index := make(map[string]int, len(j.Tasks))
	for i := range j.Tasks {
		t := &j.Tasks[i]
		f := fmt.Sprintf("tasks[%d]", i)
		if err := checkToken(f+".id", t.ID); err != nil {
			return err
		}
		if prev, dup := index[t.ID]; dup {
			return invalid(f+".id", "duplicate task id %q (also tasks[%d])", t.ID, prev)
		}
		index[t.ID] = i
	}
	for i := range j.Tasks {
		if err := j.Tasks[i].validate(fmt.Sprintf("tasks[%d]", i), index, ops, lim); err != nil {
			return err
		}
	}
	return j.checkAcyclic(index)
}

func (t *TaskSpec) validate(f string, index map[string]int, ops OpCatalog, lim Limits) error {
	if t.Op == "" {
		return invalid(f+".op", "is required")
	}
	check, ok := ops[t.Op]
	if !ok {
		return invalid(f+".op", "unknown op %q (known: %s)", t.Op, strings.Join(ops.Names(), ", "))
	}
	if len(t.Params) > lim.MaxParamsBytes {
		return tooLarge(f+".params", "%d bytes, the limit is %d", len(t.Params), lim.MaxParamsBytes)
	}
	if err := check(t.Params); err != nil {
		return prefixField(f+".params", err)
	}
	if t.Priority != "" && !t.Priority.Valid() {
		return invalid(f+".priority", "unknown priority %q (critical, high, normal, low)", t.Priority)
	}
	if t.Pool != "" {
		if err := checkToken(f+".pool", t.Pool); err != nil {
			return err
		}
	}
	if t.Resources != nil && (t.Resources.CPU < 0 || t.Resources.MemoryMB < 0) {
		return invalid(f+".resources", "must not be negative")
	}
	if err := checkAttempts(f+".max_attempts", t.MaxAttempts, lim); err != nil {
		return err
	}
	if err := checkTimeout(f+".timeout_ms", t.TimeoutMS, lim); err != nil {
		return err
	}
	if len(t.Inputs) > lim.MaxInputs {
		return tooLarge(f+".inputs", "%d inputs, the limit is %d", len(t.Inputs), lim.MaxInputs)
	}
	for k, in := range t.Inputs {
		if in == "" || len(in) > 1024 {
			return invalid(fmt.Sprintf("%s.inputs[%d]", f, k), "object names are 1 to 1024 bytes")
		}
	}
	if len(t.Deps) > lim.MaxDeps {
		return tooLarge(f+".deps", "%d deps, the limit is %d", len(t.Deps), lim.MaxDeps)
	}
	seen := make(map[string]bool, len(t.Deps))
	for k, d := range t.Deps {
		df := fmt.Sprintf("%s.deps[%d]", f, k)
		if d == t.ID {
			return invalid(df, "task %q depends on itself", d)
		}
		if _, ok := index[d]; !ok {
			return invalid(df, "unknown task %q (dangling dependency)", d)
		}
		if seen[d] {
			return invalid(df, "duplicate dependency %q", d)
		}
		seen[d] = true
	}
	return nil
}

func checkAttempts(f string, n int, lim Limits) error {
	if n < 0 || n > lim.MaxAttempts {
		return invalid(f, "must be between 1 and %d, got %d", lim.MaxAttempts, n)
	}
	return nil
}

func checkTimeout(f string, ms int64, lim Limits) error {
	if ms < 0 || ms > lim.MaxTimeoutMS {
		return invalid(f, "must be between 0 and %d ms, got %d", lim.MaxTimeoutMS, ms)
	}
	return nil
}

func (r *RetryPolicy) validate() error {
	if r == nil {
		return nil
	}
	switch {
	case r.InitialMS < 0:
		return invalid("retry.initial_ms", "must not be negative")
	case r.MaxMS < 0 || r.MaxMS > 24*3600*1000:
		return invalid("retry.max_ms", "must be between 0 and 86400000")
	case r.MaxMS > 0 && r.InitialMS > r.MaxMS:
		return invalid("retry.initial_ms", "is above retry.max_ms")
	case r.Multiplier != 0 && (r.Multiplier < 1 || r.Multiplier > 100):
		return invalid("retry.multiplier", "must be between 1 and 100")
	case r.Jitter != nil && (*r.Jitter < 0 || *r.Jitter > 1):
		return invalid("retry.jitter", "must be between 0 and 1")
	}
	return nil
}

// checkAcyclic runs Kahn's algorithm; on a cycle it names one cycle's path.
func (j *JobSpec) checkAcyclic(index map[string]int) error {
	n := len(j.Tasks)
	indeg := make([]int, n)
	children := make([][]int, n)
	for i := range j.Tasks {
		for _, d := range j.Tasks[i].Deps {
			p := index[d]
			children[p] = append(children[p], i)
			indeg[i]++
		}
	}
	queue := make([]int, 0, n)
	for i, d := range indeg {
		if d == 0 {
			queue = append(queue, i)
		}
	}
	done := 0
	for len(queue) > 0 {
		i := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		done++
		for _, c := range children[i] {
			indeg[c]--
			if indeg[c] == 0 {
				queue = append(queue, c)
			}
		}
	}
	if done == n {
		return nil
	}
	// Walk deps among the tasks left on the cycle until one repeats.
	start := -1
	for i, d := range indeg {
		if d > 0 {
			start = i
			break
		}
	}
	pos := map[int]int{}
	var path []string
	for cur := start; ; {
		if at, seen := pos[cur]; seen {
			cycle := append(path[at:], j.Tasks[cur].ID)
			return invalid(fmt.Sprintf("tasks[%d].deps", cur), "dependency cycle: %s", strings.Join(cycle, " -> "))
		}
		pos[cur] = len(path)
		path = append(path, j.Tasks[cur].ID)
		next := -1
		for _, d := range j.Tasks[cur].Deps {
			if p := index[d]; indeg[p] > 0 {
				next = p
				break
			}
		}
		cur = next
	}
}

func sortStrings(s []string) { sort.Strings(s) }
