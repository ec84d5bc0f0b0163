package web_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/geocluster/geocluster/services/monitor/web"
)

func get(t *testing.T, h http.Handler, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Result()
}

func TestHandlerServesThePageAndItsModules(t *testing.T) {
	t.Parallel()
	h := web.Handler()
	for _, c := range []struct{ path, contentType, contains string }{
		{"/", "text/html", `<script type="module" src="app.js">`},
		{"/app.js", "text/javascript", "new EventSource('/api/stream')"},
		{"/dag.js", "text/javascript", "export class DagView"},
		{"/style.css", "text/css", "#jobs"},
	} {
		res := get(t, h, c.path)
		body, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, res.StatusCode, c.path)
		assert.Contains(t, res.Header.Get("Content-Type"), c.contentType, c.path)
		assert.Contains(t, res.Header.Get("Content-Security-Policy"), "default-src 'self'", c.path)
		assert.Contains(t, string(body), c.contains, c.path)
	}
	assert.Equal(t, http.StatusNotFound, get(t, h, "/nope.js").StatusCode)
}

// Every module the page imports is embedded: a missing one would only show
// in a browser.
func TestEveryImportedModuleIsServed(t *testing.T) {
	t.Parallel()
	h := web.Handler()
	imports := regexp.MustCompile(`(?m)^import .* from '\./([a-z]+\.js)';$`)
	files := staticFiles(t)
	for name, text := range files {
		for _, m := range imports.FindAllStringSubmatch(text, -1) {
			assert.Equal(t, http.StatusOK, get(t, h, "/"+m[1]).StatusCode, "%s imports %s", name, m[1])
		}
	}
}

// The dashboard must work offline: no file refers to another origin. The
// SVG namespace is a name, not a fetch.
func TestNoFileLoadsFromElsewhere(t *testing.T) {
	t.Parallel()
	external := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	for name, text := range staticFiles(t) {
		text = strings.ReplaceAll(text, "http://www.w3.org/2000/svg", "")
		assert.Empty(t, external.FindAllString(text, -1), name)
	}
}

func staticFiles(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	root := os.DirFS("static")
	require.NoError(t, fs.WalkDir(root, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(root, path)
		out[filepath.ToSlash(path)] = string(data)
		return err
	}))
	require.NotEmpty(t, out)
	return out
}
