package worker

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// entries lists dir's names, hidden ones too.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestWriteFileReplacesTheFileWhole(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "out.tif")
	require.NoError(t, os.WriteFile(path, []byte("an older output"), 0o600))

	data := strings.Repeat("geotiff bytes ", 100_000) // past the 1 MiB buffer
	out, err := writeFile([]string{dir}, path, func(w io.Writer) error {
		_, err := io.WriteString(w, data)
		return err
	})
	require.NoError(t, err)
	sum := sha256.Sum256([]byte(data))
	assert.Equal(t, fileOutput{Path: path, Bytes: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}, out)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, data, string(got))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	assert.Equal(t, []string{"out.tif"}, entries(t, dir), "no temporary file left")
}

func TestWriteFileFailingLeavesTheOldFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "out.tif")
	require.NoError(t, os.WriteFile(path, []byte("the last good output"), 0o644))
	boom := errors.New("encoder failed")
	_, err := writeFile([]string{dir}, path, func(w io.Writer) error {
		_, _ = io.WriteString(w, strings.Repeat("x", 3<<20)) // some of it reached the file
		return boom
	})
	require.ErrorIs(t, err, boom)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "the last good output", string(got))
	assert.Equal(t, []string{"out.tif"}, entries(t, dir), "the temporary file is removed")
}

func TestWriteFileRefusesPathsOutsideTheOutputDirs(t *testing.T) {
	t.Parallel()
	allowed, other := t.TempDir(), t.TempDir()
	// A link inside the allowed directory that leads out of it.
	require.NoError(t, os.Symlink(other, filepath.Join(allowed, "escape")))
	require.NoError(t, os.Mkdir(filepath.Join(allowed, "sub"), 0o755))
	require.NoError(t, os.Mkdir(filepath.Join(allowed, "dir.tif"), 0o755))
	write := func(w io.Writer) error { _, err := io.WriteString(w, "data"); return err }

	for _, tc := range []struct {
		name, path string
		want       error
		says       string
	}{
		{"another directory", filepath.Join(other, "out.tif"), ErrOutputNotAllowed, "output directories"},
		{"dot-dot out of it", filepath.Join(allowed, "..", filepath.Base(other), "out.tif"), ErrOutputNotAllowed, "output directories"},
		{"a symlink out of it", filepath.Join(allowed, "escape", "out.tif"), ErrOutputNotAllowed, "output directories"},
		{"a directory that does not exist", filepath.Join(allowed, "missing", "out.tif"), os.ErrNotExist, "no such file"},
		{"a directory in the file's place", filepath.Join(allowed, "dir.tif"), nil, "is a directory"},
	} {
		_, err := writeFile([]string{allowed}, tc.path, write)
		require.Error(t, err, tc.name)
		assert.True(t, IsPermanent(err), "%s: %v is permanent", tc.name, err)
		if tc.want != nil {
			assert.ErrorIs(t, err, tc.want, tc.name)
		}
		assert.Contains(t, err.Error(), tc.says, tc.name)
	}
	assert.Empty(t, entries(t, other), "nothing written outside")
	assert.ElementsMatch(t, []string{"escape", "sub", "dir.tif"}, entries(t, allowed))

	// A subdirectory of an output directory is inside it; no directory
	// allows nothing.
	_, err := writeFile([]string{allowed}, filepath.Join(allowed, "sub", "out.tif"), write)
	require.NoError(t, err)
	_, err = writeFile(nil, filepath.Join(allowed, "out.tif"), write)
	require.ErrorIs(t, err, ErrOutputNotAllowed)
}

// failingWriter takes limit bytes, then fails.
type failingWriter struct{ limit int }

var errDiskFull = errors.New("no space left on device")

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) > f.limit {
		n := f.limit
		f.limit = 0
		return n, errDiskFull
	}
	f.limit -= len(p)
	return len(p), nil
}

// A write that fails under an encoder is kept, so that writeFile reports
// the file's failure (retryable) rather than what the encoder made of it.
func TestCountWriterKeepsTheFirstWriteError(t *testing.T) {
	t.Parallel()
	cw := &countWriter{w: &failingWriter{limit: 5}, h: sha256.New()}
	n, err := cw.Write([]byte("abc"))
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	n, err = cw.Write([]byte("defg"))
	require.ErrorIs(t, err, errDiskFull)
	assert.Equal(t, 2, n)
	_, err = cw.Write([]byte("h"))
	require.Error(t, err)
	assert.ErrorIs(t, cw.err, errDiskFull)
	assert.Equal(t, int64(5), cw.n)
	sum := sha256.Sum256([]byte("abcde"))
	assert.Equal(t, sum[:], cw.h.Sum(nil), "the hash is of what was written")
}
