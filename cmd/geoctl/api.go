package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/geocluster/geocluster/libs/events"
)

// errNoScheduler says nothing serves the API: the scheduler is not running.
var errNoScheduler = errors.New("the scheduler is not running")

// apiError is an error answered by the scheduler's API: the micro error
// headers and the events.APIError body.
type apiError struct {
	Verb    string
	Code    int
	Message string
	Field   string
}

func (e *apiError) Error() string {
	what := "rejected"
	if e.Code >= 500 || e.Code == 0 {
		what = "failed"
	}
	return e.Verb + " " + what + ": " + withField(e.Field, e.Message)
}

// withField prefixes msg with the field it is about, unless msg already
// names it (a ValidationError's text is "field: reason").
func withField(field, msg string) string {
	if field == "" || strings.HasPrefix(msg, field+": ") {
		return msg
	}
	return field + ": " + msg
}

// request sends body (bytes sent as they are, anything else as JSON) to the
// API endpoint of verb for the client's tenant and decodes the reply into out.
func (c *client) request(ctx context.Context, verb string, body any, out any) error {
	data, ok := body.([]byte)
	if !ok {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return fmt.Errorf("encode %s request: %w", verb, err)
		}
	}
	subject := events.APISubject(c.tenant, verb)
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	msg, err := c.nc.RequestMsgWithContext(ctx, &nats.Msg{Subject: subject, Data: data})
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return fmt.Errorf("%s: %w at %s (no responder on %s)", verb, errNoScheduler, c.server, subject)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: no reply from the scheduler at %s within %s", verb, c.server, c.timeout)
	case err != nil:
		return fmt.Errorf("%s request on %s: %w", verb, subject, err)
	}
	if err := replyError(verb, msg); err != nil {
		return err
	}
	if err := json.Unmarshal(msg.Data, out); err != nil {
		return fmt.Errorf("decode %s reply: %w", verb, err)
	}
	return nil
}

// replyError returns the *apiError a reply carries, or nil.
func replyError(verb string, msg *nats.Msg) error {
	code := msg.Header.Get(micro.ErrorCodeHeader)
	desc := msg.Header.Get(micro.ErrorHeader)
	if code == "" && desc == "" {
		return nil
	}
	e := &apiError{Verb: verb, Message: desc}
	e.Code, _ = strconv.Atoi(code)
	var body events.APIError
	if len(msg.Data) > 0 && json.Unmarshal(msg.Data, &body) == nil {
		if body.Error != "" {
			e.Message = body.Error
		}
		if body.Code != 0 {
			e.Code = body.Code
		}
		e.Field = body.Field
	}
	if e.Message == "" {
		e.Message = "error code " + code
	}
	return e
}
