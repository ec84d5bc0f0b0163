package tilecache

import "errors"

// Sentinel errors. Match them with errors.Is.
var (
	// ErrNotFound: the object is not in geo_tiles. The error matches
	// jetstream.ErrObjectNotFound too.
	ErrNotFound = errors.New("tile not found")
	// ErrInvalidObject: the name cannot name a tile (events.ValidObjectName).
	ErrInvalidObject = errors.New("invalid object name")
	// ErrStale: the version store lags behind a version the reader knows
	// of, even after retries.
	ErrStale = errors.New("version store behind the known version")
	// ErrTooLarge: LoadAtMost found the object larger than its limit and
	// did not read it.
	ErrTooLarge = errors.New("object larger than the limit")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("tile cache client closed")
)
