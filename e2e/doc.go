// Package e2e holds the end-to-end tests: a whole cluster (embedded
// JetStream, scheduler, workers) in the test process, driven only through
// the public subjects, exactly as any NATS client would.
package e2e
