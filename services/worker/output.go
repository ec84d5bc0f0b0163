package worker

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ErrOutputNotAllowed: a task named an output path outside the worker's
// output directories.
var ErrOutputNotAllowed = errors.New("path is not under the worker's output directories")

// under reports whether the resolved path real lies in one of dirs (each
// resolved too; a directory that does not resolve holds nothing).
func under(dirs []string, real string) bool {
	for _, d := range dirs {
		rd, err := filepath.EvalSymlinks(d)
		if err != nil {
			continue
		}
		if rel, err := filepath.Rel(rd, real); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(os.PathSeparator)) {
			return true
		}
	}
	return false
}

// fileOutput is what writeFile wrote.
type fileOutput struct {
	Path   string // the file, its directory's symlinks resolved
	Bytes  int64
	SHA256 string // hex
}

// writeFile writes a task's output to path, which must lie in one of dirs
// (its directory resolved through symlinks, as openPath checks inputs) and
// whose directory must exist. write gets a buffered writer onto a
// temporary file beside path, which is renamed over path once write and
// the close succeeded, so that a reader never sees a partial file and a
// retried task replaces the file whole; on failure the temporary file is
// removed. The file is flushed to the OS, not synced, as the object store
// keeps an output by default. A path outside dirs, a missing directory or
// a directory where the file should be fail permanently; I/O errors may be
// retried.
func writeFile(dirs []string, path string, write func(io.Writer) error) (fileOutput, error) {
	clean := filepath.Clean(path)
	dir, base := filepath.Split(clean)
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fileOutput{}, Permanent(fmt.Errorf("output %s: %w", path, err))
	}
	if !under(dirs, realDir) {
		return fileOutput{}, Permanent(fmt.Errorf("output %s: %w (%s)", path, ErrOutputNotAllowed, strings.Join(dirs, ", ")))
	}
	final := filepath.Join(realDir, base)
	if fi, err := os.Lstat(final); err == nil && fi.IsDir() {
		return fileOutput{}, Permanent(fmt.Errorf("output %s: is a directory", path))
	}
	f, err := os.CreateTemp(realDir, "."+base+".*.part")
	if err != nil {
		return fileOutput{}, fmt.Errorf("output %s: %w", path, err)
	}
	done := false // renamed into place; until then a failure removes it
	defer func() {
		if !done {
			_ = f.Close() // a second close, when it is closed, only errs
			_ = os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	cw := &countWriter{w: f, h: h}
	bw := bufio.NewWriterSize(cw, 1<<20)
	if err := write(bw); err != nil {
		if cw.err != nil {
			// The file could not be written (a full disk, say): not the
			// task's fault, so not permanent, whatever write made of it.
			return fileOutput{}, fmt.Errorf("output %s: %w", path, cw.err)
		}
		return fileOutput{}, err
	}
	if err := bw.Flush(); err != nil {
		return fileOutput{}, fmt.Errorf("output %s: %w", path, err)
	}
	// CreateTemp makes the file private; an output is for others to read.
	if err := f.Chmod(0o644); err != nil {
		return fileOutput{}, fmt.Errorf("output %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fileOutput{}, fmt.Errorf("output %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), final); err != nil {
		return fileOutput{}, fmt.Errorf("output %s: %w", path, err)
	}
	done = true
	return fileOutput{Path: final, Bytes: cw.n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// countWriter writes to w, hashing and counting what it wrote, and keeps
// the first error of w.
type countWriter struct {
	w   io.Writer
	h   hash.Hash
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}
