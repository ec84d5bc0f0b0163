package rules

import "errors"

// Sentinel errors returned by this package. Match them with errors.Is.
var (
	// ErrTooManySeries is returned by Store appends that would create a series
	// beyond the store's series limit. The sample is dropped and counted.
	ErrTooManySeries = errors.New("series limit reached")
	// ErrOutOfOrder is returned when a sample is older than the newest sample
	// already stored for its series. The sample is dropped and counted.
	ErrOutOfOrder = errors.New("sample out of order")
	// ErrInvalidName marks a metric or label name that is not
	// [a-zA-Z_:][a-zA-Z0-9_:]* (metric) or [a-zA-Z_][a-zA-Z0-9_]* (label).
	ErrInvalidName = errors.New("invalid name")
	// ErrSyntax marks an expression that does not parse. The concrete error is
	// a *ParseError carrying the column and token.
	ErrSyntax = errors.New("syntax error")
	// ErrInvalidRule marks a rule definition that fails validation.
	ErrInvalidRule = errors.New("invalid rule")
)
