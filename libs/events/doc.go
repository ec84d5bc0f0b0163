// Package events is the geocluster contract: every subject, stream, consumer,
// KV bucket and object store name, the versioned JSON messages that travel on
// them, their validation, the OpenTelemetry trace context carried in NATS
// headers, and the idempotent provisioning of the JetStream topology that every
// service calls at start.
//
// Services never import each other; they share only this package. Anything a
// service does can be done by any NATS client publishing the JSON documented
// here (see docs/protocol.md).
//
// Messages carry a version field "v". Changes within a version are additive;
// a breaking change is a new version.
package events
