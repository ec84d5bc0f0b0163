package lease

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/geocluster/geocluster/libs/events"
)

// Errors.
var (
	// ErrHeld: another holder has the lease.
	ErrHeld = errors.New("lease held by another holder")
	// ErrLost: the lease passed, or may have passed, to another holder. It
	// is the cause of a lead context cancelled by Run.
	ErrLost = errors.New("lease lost")
)

// Defaults.
const (
	DefaultTTL = 10 * time.Second
	// MinTTL is the shortest per-key TTL the server accepts.
	MinTTL = time.Second
)

// Config of a lease.
type Config struct {
	// Bucket is the KV bucket of leases (events.BucketLeases). It must allow
	// per-key TTLs (LimitMarkerTTL).
	Bucket string
	// Key names the lease, e.g. "replicator"; a valid KV key, required.
	Key string
	// Holder identifies the contender; it is the key's value, for operators
	// (required).
	Holder string
	// TTL is how long the lease outlives its holder's last renewal (10s; at
	// least 1s).
	TTL time.Duration
	// RenewEvery is the renewal period; 0 means TTL/3. It must be below
	// TTL/2.
	RenewEvery time.Duration
	// RetryEvery is how often a contender tries to acquire; 0 means TTL/4.
	RetryEvery time.Duration
	// OnChange, when set, is called by Run on every state change with the
	// tenure's fencing token (0 while not leading). It must not block.
	OnChange func(s State, token uint64)
}

func (c Config) withDefaults() Config {
	if c.Bucket == "" {
		c.Bucket = events.BucketLeases
	}
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.RenewEvery == 0 {
		c.RenewEvery = c.TTL / 3
	}
	if c.RetryEvery == 0 {
		c.RetryEvery = c.TTL / 4
	}
	return c
}

// Validate returns every problem of c (after defaults) at once.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if !events.ValidToken(c.Key) {
		errs = append(errs, fmt.Errorf("key: %q is not a valid lease name", c.Key))
	}
	if c.Holder == "" {
		errs = append(errs, errors.New("holder: required"))
	}
	if c.TTL < MinTTL {
		errs = append(errs, fmt.Errorf("ttl: at least %s, got %s", MinTTL, c.TTL))
	}
	if c.RenewEvery <= 0 || c.RenewEvery >= c.TTL/2 {
		errs = append(errs, fmt.Errorf("renew_every: above 0 and below ttl/2 (%s), got %s", c.TTL/2, c.RenewEvery))
	}
	if c.RetryEvery <= 0 {
		errs = append(errs, fmt.Errorf("retry_every: must be positive, got %s", c.RetryEvery))
	}
	return errors.Join(errs...)
}

// Lease is a held lease. Its methods are safe for concurrent use.
type Lease struct {
	js  jetstream.JetStream
	kv  jetstream.KeyValue
	cfg Config

	token uint64

	mu       sync.Mutex
	rev      uint64
	deadline time.Time
	lost     bool
}

// Acquire makes one attempt to take the lease. It returns ErrHeld when
// another holder has it.
func Acquire(ctx context.Context, js jetstream.JetStream, cfg Config) (*Lease, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("lease config: %w", err)
	}
	kv, err := js.KeyValue(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("bind %s: %w", cfg.Bucket, err)
	}
	return acquire(ctx, js, kv, cfg)
}

// acquire is one attempt with the bucket bound and cfg validated.
func acquire(ctx context.Context, js jetstream.JetStream, kv jetstream.KeyValue, cfg Config) (*Lease, error) {
	sent := time.Now()
	rev, err := kv.Create(ctx, cfg.Key, []byte(cfg.Holder), jetstream.KeyTTL(cfg.TTL))
	if errors.Is(err, jetstream.ErrKeyExists) {
		return nil, fmt.Errorf("acquire %s: %w", cfg.Key, ErrHeld)
	}
	if err != nil {
		return nil, fmt.Errorf("acquire %s: %w", cfg.Key, err)
	}
	return &Lease{js: js, kv: kv, cfg: cfg, token: rev, rev: rev, deadline: sent.Add(cfg.TTL)}, nil
}

// Token is the fencing token of this tenure: the key's revision when it was
// acquired.
func (l *Lease) Token() uint64 { return l.token }

// Revision is the key's revision after the last renewal.
func (l *Lease) Revision() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rev
}

// Deadline is when the lease lapses unless renewed: its last write plus the
// TTL, measured from before the write was sent.
func (l *Lease) Deadline() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.deadline
}

// Renew extends the lease by the TTL. It returns ErrLost when the key was
// written by someone else (the lease expired and was taken, or deleted);
// other errors are transient and the lease holds until its Deadline.
func (l *Lease) Renew(ctx context.Context) error {
	l.mu.Lock()
	rev, lost := l.rev, l.lost
	l.mu.Unlock()
	if lost {
		return ErrLost
	}
	sent := time.Now()
	m := &nats.Msg{Subject: events.KVSubject(l.cfg.Bucket, l.cfg.Key), Data: []byte(l.cfg.Holder)}
	ack, err := l.js.PublishMsg(ctx, m, jetstream.WithExpectLastSequencePerSubject(rev), jetstream.WithMsgTTL(l.cfg.TTL))
	if isWrongLastSequence(err) {
		l.mu.Lock()
		l.lost = true
		l.mu.Unlock()
		return fmt.Errorf("renew %s: %w", l.cfg.Key, ErrLost)
	}
	if err != nil {
		return fmt.Errorf("renew %s: %w", l.cfg.Key, err)
	}
	l.mu.Lock()
	l.rev, l.deadline = ack.Sequence, sent.Add(l.cfg.TTL)
	l.mu.Unlock()
	return nil
}

// Release deletes the key if this holder still has it, so a successor
// takes over at once. Releasing a lost lease does nothing.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	rev, lost := l.rev, l.lost
	l.lost = true
	l.mu.Unlock()
	if lost {
		return nil
	}
	err := l.kv.Delete(ctx, l.cfg.Key, jetstream.LastRevision(rev))
	if err != nil && !isWrongLastSequence(err) && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("release %s: %w", l.cfg.Key, err)
	}
	return nil
}

func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}
