// Package web is the monitor's dashboard: one HTML page, its style sheet and
// a few JavaScript modules, embedded in the binary so that the monitor serves
// them with no build step and no network beyond itself. The page reads the
// monitor's JSON API and its Server-Sent Events stream (/api/stream) from the
// same origin; it loads nothing from anywhere else, which the Content
// Security Policy sent with every file enforces.
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// contentSecurityPolicy allows the page its own origin only: scripts,
// styles, images (tiles), fetch and the event stream.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

// Handler serves the dashboard: index.html at "/", the other files by name.
// The files change only with the binary; browsers revalidate them.
func Handler() http.Handler {
	files, err := fs.Sub(static, "static")
	if err != nil {
		// "static" is embedded above, so Sub cannot fail; serve the error
		// rather than panic should that ever change.
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "dashboard files missing: "+err.Error(), http.StatusInternalServerError)
		})
	}
	fileServer := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		fileServer.ServeHTTP(w, r)
	})
}
