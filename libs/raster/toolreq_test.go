package raster

import (
	"os"
	"testing"
)

// skipWithoutTool skips a test whose outside tool (GDAL, its Python
// bindings) is missing — or fails it when GEO_REQUIRE_GDAL=1, as CI sets
// after installing them, so a broken install cannot pass as skipped tests.
func skipWithoutTool(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("GEO_REQUIRE_GDAL") == "1" {
		t.Fatalf("GEO_REQUIRE_GDAL=1 but "+format, args...)
	}
	t.Skipf(format, args...)
}
