package events

import (
	"errors"
	"fmt"
)

// Sentinel errors returned by this package. Match them with errors.Is.
var (
	// ErrInvalid marks a message that failed validation. The concrete error is
	// a *ValidationError naming the field.
	ErrInvalid = errors.New("invalid message")
	// ErrUnsupportedVersion marks a message whose "v" this build does not speak.
	ErrUnsupportedVersion = errors.New("unsupported message version")
	// ErrMalformed marks a payload that is not the JSON it claims to be.
	ErrMalformed = errors.New("malformed JSON")
	// ErrTooLarge marks a message or job over a configured limit.
	ErrTooLarge = errors.New("over limit")
)

// ValidationError says which field of a message is wrong and why.
// Field is a JSON path such as "tasks[3].deps[0]".
type ValidationError struct {
	Field  string
	Reason string
	kind   error
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// Is makes every ValidationError match ErrInvalid, and also its more
// specific sentinel (ErrMalformed, ErrTooLarge, ErrUnsupportedVersion).
func (e *ValidationError) Is(target error) bool {
	return target == ErrInvalid || (e.kind != nil && target == e.kind)
}

func invalid(field, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

func tooLarge(field, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...), kind: ErrTooLarge}
}

// FieldOf returns the field named by err if it is (or wraps) a
// *ValidationError, and "" otherwise.
func FieldOf(err error) string {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve.Field
	}
	return ""
}
