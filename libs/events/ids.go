package events

import (
	"crypto/rand"
	"regexp"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

var (
	entropyMu sync.Mutex
	entropy   = ulid.Monotonic(rand.Reader, 0)
)

// NewID returns a new ULID string: 26 characters, sortable by creation time.
func NewID() string {
	entropyMu.Lock()
	defer entropyMu.Unlock()
	return ulid.MustNew(ulid.Timestamp(time.Now()), entropy).String()
}

// MaxTokenLen is the longest id or name allowed in a subject token or KV key.
const MaxTokenLen = 64

var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// ValidToken reports whether s can be used as one subject token and one KV
// key segment: 1 to MaxTokenLen characters of letters, digits, '-' and '_'.
// That excludes '.', '*', '>', spaces and everything else that would change
// the meaning of a subject.
func ValidToken(s string) bool {
	return len(s) > 0 && len(s) <= MaxTokenLen && tokenRE.MatchString(s)
}

func checkToken(field, s string) error {
	if s == "" {
		return invalid(field, "must not be empty")
	}
	if len(s) > MaxTokenLen {
		return invalid(field, "longer than %d characters", MaxTokenLen)
	}
	if !tokenRE.MatchString(s) {
		return invalid(field, "%q may contain only letters, digits, '-' and '_'", s)
	}
	return nil
}
