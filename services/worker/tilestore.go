package worker

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/raster"
	"github.com/geocluster/geocluster/libs/tilecache"
)

// TileStore reads and writes the tile objects of geo_tiles. A worker with a
// near-cache (Config.NearCacheBytes) reads through it; otherwise it reads the
// object store directly. Get of a missing object returns an error matching
// jetstream.ErrObjectNotFound.
type TileStore interface {
	Get(ctx context.Context, name string) ([]byte, error)
	Put(ctx context.Context, name string, data []byte) error
}

// objectTiles is the TileStore of a worker without a near-cache.
type objectTiles struct{ js jetstream.JetStream }

// Each store call has its own deadline (see tilecache.ReadTimeout): a
// reply lost with a dying NATS node must fail the call, not hold the task
// until its own timeout.
func (o objectTiles) Get(ctx context.Context, name string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, tilecache.ReadTimeout)
	defer cancel()
	store, err := o.js.ObjectStore(ctx, events.ObjectTiles)
	if err != nil {
		return nil, fmt.Errorf("open object store %s: %w", events.ObjectTiles, err)
	}
	return store.GetBytes(ctx, name)
}

func (o objectTiles) Put(ctx context.Context, name string, data []byte) error {
	ctx, cancel := context.WithTimeout(ctx, tilecache.WriteTimeout(len(data)))
	defer cancel()
	store, err := o.js.ObjectStore(ctx, events.ObjectTiles)
	if err != nil {
		return fmt.Errorf("open object store %s: %w", events.ObjectTiles, err)
	}
	_, err = store.PutBytes(ctx, name, data)
	return err
}

// fetchConcurrency is how many objects fetchAll gets at once.
const fetchConcurrency = 4

// fetchAll calls get for 0..n-1, fetchConcurrency at a time, and returns
// the first error once every call has returned; the others are cancelled.
func fetchAll(ctx context.Context, n int, get func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		next int
		errs []error
	)
	for range min(n, fetchConcurrency) {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				stop := len(errs) > 0 || i >= n
				mu.Unlock()
				if stop {
					return
				}
				if err := get(ctx, i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					cancel()
				}
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// ErrPathNotAllowed: a task named a file outside the worker's data
// directories.
var ErrPathNotAllowed = errors.New("path is not under the worker's data directories")

// openPath opens a GeoTIFF a task names by path, if it lies under one of
// dirs once symbolic links are resolved (a task cannot read what the
// operator did not share). Errors are permanent: a retry would not help.
func openPath(dirs []string, path string) (*raster.Dataset, error) {
	real, err := filepath.EvalSymlinks(filepath.Clean(path))
	if err != nil {
		return nil, Permanent(fmt.Errorf("input %s: %w", path, err))
	}
	if !under(dirs, real) {
		return nil, Permanent(fmt.Errorf("input %s: %w (%s)", path, ErrPathNotAllowed, strings.Join(dirs, ", ")))
	}
	ds, err := raster.OpenFile(real)
	if err != nil {
		return nil, Permanent(fmt.Errorf("open %s: %w", path, err))
	}
	return ds, nil
}

// readWindow reads win of the GeoTIFF at path (see openPath).
func readWindow(dirs []string, path string, win events.PixelWindow) (*raster.Raster, error) {
	ds, err := openPath(dirs, path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = ds.Close() }()
	r, err := ds.ReadWindow(raster.Window{X: win.X, Y: win.Y, W: win.W, H: win.H})
	if err != nil {
		return nil, Permanent(fmt.Errorf("read %s of %s: %w", raster.Window{X: win.X, Y: win.Y, W: win.W, H: win.H}, path, err))
	}
	return r, nil
}

// ObjectTiles returns the TileStore that reads and writes geo_tiles
// directly, for tests and tools that call ops outside a worker.
func ObjectTiles(js jetstream.JetStream) TileStore { return objectTiles{js: js} }
