package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// DownloadPrefix downloads every object of store named <prefix>/<rest>
// into dir/<rest> (for example a pipeline's web-map tiles) and returns how
// many it wrote.
func DownloadPrefix(ctx context.Context, store jetstream.ObjectStore, prefix, dir string) (int, error) {
	objs, err := store.List(ctx)
	if err != nil {
		return 0, fmt.Errorf("list objects: %w", err)
	}
	n := 0
	for _, o := range objs {
		rel, ok := strings.CutPrefix(o.Name, prefix+"/")
		if !ok {
			continue
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return n, err
		}
		if err := store.GetFile(ctx, o.Name, dst); err != nil {
			return n, fmt.Errorf("download %s: %w", o.Name, err)
		}
		n++
	}
	return n, nil
}
