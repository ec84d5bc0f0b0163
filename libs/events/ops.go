package events

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// The platform's own operations. Raster operations join the catalog with
// their own parameter types; workers implement what the catalog names.
const (
	OpNoop     = "noop"
	OpSleep    = "sleep"
	OpFail     = "fail"
	OpChecksum = "checksum"
)

// SleepParams: sleep for DurationMS, honouring cancellation and timeout.
type SleepParams struct {
	DurationMS int64 `json:"duration_ms"`
}

// FailParams: fail with Message. With SucceedOnAttempt > 0 the op succeeds
// from that attempt on, which tests retries that recover.
type FailParams struct {
	Message          string `json:"message,omitempty"`
	SucceedOnAttempt int    `json:"succeed_on_attempt,omitempty"`
}

// ChecksumParams: SHA-256 of an object in geo_tiles.
type ChecksumParams struct {
	Object string `json:"object"`
}

// ChecksumResult is what the checksum op returns.
type ChecksumResult struct {
	Object string `json:"object"`
	Size   uint64 `json:"size"`
	SHA256 string `json:"sha256"`
}

// ParamsValidator checks an op's params; a returned *ValidationError's field
// is relative to the params object (e.g. "duration_ms").
type ParamsValidator func(params json.RawMessage) error

// OpCatalog maps op names to their parameter validators. The scheduler
// rejects a job naming an op not in its catalog.
type OpCatalog map[string]ParamsValidator

// PlatformOps returns the catalog of the platform's own ops.
func PlatformOps() OpCatalog {
	c := OpCatalog{
		OpNoop: func(json.RawMessage) error { return nil },
		OpSleep: func(raw json.RawMessage) error {
			var p SleepParams
			if err := DecodeParams(raw, &p); err != nil {
				return err
			}
			if p.DurationMS < 0 || p.DurationMS > 24*3600*1000 {
				return invalid("duration_ms", "must be between 0 and 86400000, got %d", p.DurationMS)
			}
			return nil
		},
		OpFail: func(raw json.RawMessage) error {
			var p FailParams
			if err := DecodeParams(raw, &p); err != nil {
				return err
			}
			if p.SucceedOnAttempt < 0 {
				return invalid("succeed_on_attempt", "must not be negative")
			}
			return nil
		},
		OpChecksum: func(raw json.RawMessage) error {
			var p ChecksumParams
			if err := DecodeParams(raw, &p); err != nil {
				return err
			}
			if p.Object == "" {
				return invalid("object", "is required")
			}
			return nil
		},
	}
	for name, check := range tileOps() {
		c[name] = check
	}
	return c
}

// Names returns the op names of the catalog, sorted.
func (c OpCatalog) Names() []string {
	out := make([]string, 0, len(c))
	for k := range c {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}

// DecodeParams decodes op params strictly: unknown fields are an error
// naming the field. Empty params decode to the zero value.
func DecodeParams(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError("", err)
	}
	return nil
}

func prefixField(prefix string, err error) error {
	if ve, ok := err.(*ValidationError); ok {
		out := *ve
		if out.Field == "" {
			out.Field = prefix
		} else {
			out.Field = prefix + "." + out.Field
		}
		return &out
	}
	return &ValidationError{Field: prefix, Reason: err.Error()}
}

// jsonError turns an encoding/json error into a ValidationError that names
// the field and the position.
func jsonError(prefix string, err error) error {
	join := func(f string) string {
		switch {
		case prefix == "":
			return f
		case f == "":
			return prefix
		}
		return prefix + "." + f
	}
	switch e := err.(type) {
	case *json.SyntaxError:
		return &ValidationError{Field: prefix, Reason: fmt.Sprintf("malformed JSON at byte %d: %v", e.Offset, e), kind: ErrMalformed}
	case *json.UnmarshalTypeError:
		return &ValidationError{Field: join(e.Field), Reason: fmt.Sprintf("expected %s, got JSON %s", e.Type, e.Value), kind: ErrMalformed}
	}
	msg := err.Error()
	const unknown = "json: unknown field "
	if len(msg) > len(unknown) && msg[:len(unknown)] == unknown {
		name := msg[len(unknown):]
		if len(name) >= 2 && name[0] == '"' {
			name = name[1 : len(name)-1]
		}
		return &ValidationError{Field: join(name), Reason: "unknown field", kind: ErrMalformed}
	}
	return &ValidationError{Field: prefix, Reason: "malformed JSON: " + msg, kind: ErrMalformed}
}
