// Package lru is a least-recently-used cache of versioned byte values
// bounded in bytes, the store of the tile cache's nodes and of the
// near-cache of its clients. It is not safe for concurrent use: its owner
// holds a lock around it.
package lru

import "container/list"

// Overhead is what one entry is charged beside its value and key: the list
// element, the map slot and the entry itself, roughly.
const Overhead = 128

// Entry is one cached value.
type Entry struct {
	// Version of the value (the revision of its key in geo_cache).
	Version uint64
	// Value as stored: compressed when Compressed.
	Value []byte
	// Raw is the length of the value uncompressed.
	Raw int
	// Compressed says Value is compressed (by the owner; lru does not care).
	Compressed bool
}

// Cache holds entries up to MaxBytes, dropping the least recently used.
type Cache struct {
	max        int64
	bytes      int64
	raw        int64
	stored     int64
	compressed int
	ll         *list.List
	items      map[string]*list.Element
	// onEvict, when set, is called for every entry dropped to make room
	// (not for Remove).
	onEvict func(key string, e Entry)
}

type item struct {
	key string
	e   Entry
}

// New returns a cache bounded to maxBytes (0 holds nothing). onEvict, if
// not nil, is called for every entry dropped to make room.
func New(maxBytes int64, onEvict func(key string, e Entry)) *Cache {
	return &Cache{max: maxBytes, ll: list.New(), items: map[string]*list.Element{}, onEvict: onEvict}
}

// Size is what an entry of key is charged.
func Size(key string, e Entry) int64 { return int64(len(e.Value) + len(key) + Overhead) }

// Get returns key's entry and marks it used.
func (c *Cache) Get(key string) (Entry, bool) {
	el, ok := c.items[key]
	if !ok {
		return Entry{}, false
	}
	c.ll.MoveToFront(el)
	return el.Value.(*item).e, true
}

// Peek returns key's entry without marking it used.
func (c *Cache) Peek(key string) (Entry, bool) {
	el, ok := c.items[key]
	if !ok {
		return Entry{}, false
	}
	return el.Value.(*item).e, true
}

// Add stores e under key, replacing what was there, and evicts the least
// recently used entries until the cache fits its budget. An entry larger
// than the whole budget is not stored (and what key held is removed); Add
// reports whether e was stored.
func (c *Cache) Add(key string, e Entry) bool {
	c.Remove(key)
	size := Size(key, e)
	if size > c.max {
		return false
	}
	for c.bytes+size > c.max {
		c.evictOldest()
	}
	c.items[key] = c.ll.PushFront(&item{key: key, e: e})
	c.bytes += size
	c.raw += int64(e.Raw)
	c.stored += int64(len(e.Value))
	if e.Compressed {
		c.compressed++
	}
	return true
}

// Remove drops key; it reports whether key was held.
func (c *Cache) Remove(key string) bool {
	el, ok := c.items[key]
	if !ok {
		return false
	}
	c.drop(el)
	return true
}

func (c *Cache) evictOldest() {
	el := c.ll.Back()
	if el == nil {
		return
	}
	it := c.drop(el)
	if c.onEvict != nil {
		c.onEvict(it.key, it.e)
	}
}

func (c *Cache) drop(el *list.Element) *item {
	it := el.Value.(*item)
	c.ll.Remove(el)
	delete(c.items, it.key)
	c.bytes -= Size(it.key, it.e)
	c.raw -= int64(it.e.Raw)
	c.stored -= int64(len(it.e.Value))
	if it.e.Compressed {
		c.compressed--
	}
	return it
}

// Len is the number of entries.
func (c *Cache) Len() int { return c.ll.Len() }

// Bytes is what the entries are charged, at most MaxBytes.
func (c *Cache) Bytes() int64 { return c.bytes }

// RawBytes is the sum of the entries' uncompressed lengths.
func (c *Cache) RawBytes() int64 { return c.raw }

// StoredBytes is the sum of the entries' values as stored.
func (c *Cache) StoredBytes() int64 { return c.stored }

// Compressed is the number of entries stored compressed.
func (c *Cache) Compressed() int { return c.compressed }

// MaxBytes is the budget.
func (c *Cache) MaxBytes() int64 { return c.max }

// Keys returns the keys from the most to the least recently used.
func (c *Cache) Keys() []string {
	keys := make([]string, 0, c.ll.Len())
	for el := c.ll.Front(); el != nil; el = el.Next() {
		keys = append(keys, el.Value.(*item).key)
	}
	return keys
}
