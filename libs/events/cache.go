package events

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// The tile cache speaks request/reply on geo.cache.<node>.get and
// geo.cache.<node>.put. Tiles are binary, so the body of a request or reply
// is the tile's bytes as they are and everything else rides in headers.
//
// Get request: header Geo-Object (the object name in geo_tiles), optional
// Geo-Min-Version (the newest version the reader knows of); empty body.
// Get reply: Geo-Status, and on ok Geo-Version and the bytes as the body.
//
// Put request: Geo-Object, Geo-Version (the revision of the write's bump in
// geo_cache), the bytes as the body. Put reply: Geo-Status.
const (
	// CacheHeaderObject names the tile object.
	CacheHeaderObject = "Geo-Object"
	// CacheHeaderMinVersion is the newest version a reader knows of: a node
	// never answers with older bytes.
	CacheHeaderMinVersion = "Geo-Min-Version"
	// CacheHeaderVersion is the version of the bytes in the body: the
	// revision of the object's key in geo_cache (0: never bumped).
	CacheHeaderVersion = "Geo-Version"
	// CacheHeaderStatus is the outcome of a request (CacheStatus).
	CacheHeaderStatus = "Geo-Status"
	// CacheHeaderError explains a status other than ok.
	CacheHeaderError = "Geo-Error"
)

// CacheStatus is the outcome of a cache request.
type CacheStatus string

// Cache statuses.
const (
	// CacheOK: the body holds the object's bytes (get) or they were taken (put).
	CacheOK CacheStatus = "ok"
	// CacheNotFound: the object is not in geo_tiles.
	CacheNotFound CacheStatus = "not_found"
	// CacheTooLarge: the object does not fit in one message; read the store.
	CacheTooLarge CacheStatus = "too_large"
	// CacheStale: a put carried a version older than the node knows of; the
	// bytes were not taken.
	CacheStale CacheStatus = "stale"
	// CacheBadRequest: the request lacks or garbles a header.
	CacheBadRequest CacheStatus = "bad_request"
	// CacheError: the node could not read the store; Geo-Error says why.
	CacheError CacheStatus = "error"
)

// MaxObjectNameLen bounds an object name carried in a header.
const MaxObjectNameLen = 1024

// ValidObjectName reports whether name can name a tile in a cache request:
// not empty, at most MaxObjectNameLen bytes, no control characters (a header
// value cannot hold CR or LF).
func ValidObjectName(name string) bool {
	if name == "" || len(name) > MaxObjectNameLen {
		return false
	}
	return !strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// FormatCacheVersion and ParseCacheVersion convert a version header.
func FormatCacheVersion(v uint64) string { return strconv.FormatUint(v, 10) }

// ParseCacheVersion parses a version header; an absent header is 0.
func ParseCacheVersion(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, invalid("version", "%q is not a version", s)
	}
	return v, nil
}

// CacheVersion is the value of an object's key in geo_cache. The key's
// revision, not anything in the value, is the version; the value says what
// was written, for operators and for checks.
type CacheVersion struct {
	V      int    `json:"v"`
	Object string `json:"object"`
	Size   int    `json:"size"`
	// SHA256 of the bytes, hex.
	SHA256 string `json:"sha256,omitempty"`
	// Writer names the client that wrote (a worker id, a tool).
	Writer string    `json:"writer,omitempty"`
	At     time.Time `json:"at"`
}

// CacheNode is a cache node's registration in geo_cache_nodes, key = its id.
type CacheNode struct {
	V  int    `json:"v"`
	ID string `json:"id"`
	// MaxBytes is the node's memory budget for tiles.
	MaxBytes    int64     `json:"max_bytes"`
	Host        string    `json:"host,omitempty"`
	StartedAt   time.Time `json:"started_at"`
	HeartbeatAt time.Time `json:"heartbeat_at"`
}

// CacheStats is published by a cache node on geo.cache.<node>.stats (kept
// in EVENTS) every stats interval. Counters run from the node's start.
type CacheStats struct {
	V    int    `json:"v"`
	Node string `json:"node"`
	// Hits, Misses (read through to the store) and Evictions (for room).
	Hits      uint64 `json:"hits"`
	Misses    uint64 `json:"misses"`
	Evictions uint64 `json:"evictions"`
	// Invalidations: entries dropped because a newer version was written.
	Invalidations uint64 `json:"invalidations"`
	// Entries held, Bytes they take in memory (compressed or not), RawBytes
	// they hold uncompressed.
	Entries  int   `json:"entries"`
	Bytes    int64 `json:"bytes"`
	RawBytes int64 `json:"raw_bytes"`
	// CompressionRatio is Bytes/RawBytes over the held entries (1: none).
	CompressionRatio float64 `json:"compression_ratio"`
	// Compressed counts the held entries stored compressed.
	Compressed int       `json:"compressed"`
	At         time.Time `json:"at"`
}

// DecodeCacheStats decodes a stats event.
func DecodeCacheStats(data []byte) (CacheStats, error) {
	var s CacheStats
	if err := json.Unmarshal(data, &s); err != nil {
		return CacheStats{}, jsonError("", err)
	}
	if s.V != Version {
		return CacheStats{}, &ValidationError{Field: "v", Reason: "unsupported version", kind: ErrUnsupportedVersion}
	}
	return s, nil
}

// DecodeCacheNode decodes a registration.
func DecodeCacheNode(data []byte) (CacheNode, error) {
	var n CacheNode
	if err := json.Unmarshal(data, &n); err != nil {
		return CacheNode{}, jsonError("", err)
	}
	if err := checkToken("id", n.ID); err != nil {
		return CacheNode{}, err
	}
	return n, nil
}
