package events

// Replies of the sync API (nats micro on geo.api.<tenant>.jobs.<verb>).
// Errors come as micro error headers (Nats-Service-Error-Code, -Error) and
// an APIError JSON body.

// SubmitReply answers a submit: the job was validated and stored in JOBS.
type SubmitReply struct {
	V      int    `json:"v"`
	JobID  string `json:"job_id"`
	Tenant string `json:"tenant"`
	// Seq is the JOBS stream sequence of the stored submission.
	Seq uint64 `json:"seq"`
	// Duplicate is true when a submission with the same id was already stored.
	Duplicate bool `json:"duplicate,omitempty"`
}

// GetRequest asks for one job; with Tasks the task records come too.
type GetRequest struct {
	JobID string `json:"job_id"`
	Tasks bool   `json:"tasks,omitempty"`
}

// GetReply is one job and optionally its tasks.
type GetReply struct {
	V     int          `json:"v"`
	Job   JobRecord    `json:"job"`
	Tasks []TaskRecord `json:"tasks,omitempty"`
}

// ListRequest asks for the tenant's jobs, newest first.
type ListRequest struct {
	Limit int      `json:"limit,omitempty"` // default 50, at most 1000
	State JobState `json:"state,omitempty"` // only jobs in this state
}

// ListReply lists jobs, newest first.
type ListReply struct {
	V    int         `json:"v"`
	Jobs []JobRecord `json:"jobs"`
}

// CancelReply answers a cancel: the request was stored in JOBS.
type CancelReply struct {
	V     int    `json:"v"`
	JobID string `json:"job_id"`
	Seq   uint64 `json:"seq"`
}

// APIError is the JSON body of an API error.
type APIError struct {
	Code  int    `json:"code"`
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}
