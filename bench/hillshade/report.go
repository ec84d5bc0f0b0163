package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// machine is what the figures were measured on.
type machine struct {
	cpu         string
	cpus        int
	gomaxprocs  int
	memGiB      float64
	goVersion   string
	gdalVersion string
	cacheMax    string // GDAL_CACHEMAX as set, or "" for GDAL's default
}

func describeMachine(ctx context.Context) (machine, error) {
	m := machine{
		cpu: "unknown CPU", cpus: runtime.NumCPU(), gomaxprocs: runtime.GOMAXPROCS(0),
		goVersion: runtime.Version(), cacheMax: os.Getenv("GDAL_CACHEMAX"),
	}
	if v, ok := procField("/proc/cpuinfo", "model name"); ok {
		m.cpu = v
	}
	if v, ok := procField("/proc/meminfo", "MemTotal"); ok {
		if kb, err := strconv.ParseFloat(strings.TrimSuffix(v, " kB"), 64); err == nil {
			m.memGiB = kb / (1 << 20)
		}
	}
	out, err := exec.CommandContext(ctx, "gdalinfo", "--version").Output()
	if err != nil {
		return m, fmt.Errorf("gdalinfo --version: %w (install gdal-bin)", err)
	}
	m.gdalVersion = strings.TrimSpace(strings.SplitN(string(out), ",", 2)[0])
	return m, nil
}

// procField is the value of the first "key : value" line of a /proc file.
func procField(path, key string) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// report prints the figures as markdown.
func report(w io.Writer, cfg config, m machine, d dem, res results) {
	cacheMax := "GDAL_CACHEMAX unset (GDAL's default)"
	if m.cacheMax != "" {
		cacheMax = "GDAL_CACHEMAX=" + m.cacheMax
	}
	fmt.Fprintf(w, "# Hillshade of a %d x %d DEM — %s\n\n", d.size, d.size, time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(w, "Machine: %s, %d CPUs, GOMAXPROCS=%d, %.1f GiB; %s; %s, %s.\n\n",
		m.cpu, m.cpus, m.gomaxprocs, m.memGiB, m.goVersion, m.gdalVersion, cacheMax)

	px := d.size * d.size
	how := fmt.Sprintf("built in %s", secs(d.build))
	if d.cached {
		how = "found in the cache"
	}
	fmt.Fprintf(w, "DEM: `%s`, %d x %d Float32 (%s pixels), tiled LZW, %.1f MiB, %s, from %d x %d copies of the %d x %d real DEM `%s`:\n\n",
		d.path, d.size, d.size, thousands(px), float64(d.bytes)/(1<<20), how, d.nx, d.ny, d.srcW, d.srcH, d.src)
	for i, s := range d.steps {
		fmt.Fprintf(w, "%d. %s\n", i+1, s)
	}
	fmt.Fprintf(w, "\nChecked: every DEM pixel (x, y) equals the real DEM's pixel (x mod %d, y mod %d); same geotransform, CRS and nodata.\n\n", d.srcW, d.srcH)

	g, o := res.gdal.median(), res.ours.median()
	fmt.Fprintf(w, "| hillshade -s 111120 -z 1 -az 315 -alt 45, %d x %d Float32 → Byte, uncompressed GeoTIFF; one process per run (median of %d runs) | wall | ours / gdaldem | CPU user + sys |\n|---|---:|---:|---:|\n",
		d.size, d.size, cfg.runs)
	fmt.Fprintf(w, "| `%s` | %s | 1.00 | %s |\n", strings.Join(gdaldemCommand("<dem>", "<out>"), " "), secs(g.wall), cpu(g))
	fmt.Fprintf(w, "| geocluster, one process: `raster.ReadFile` → `raster.Hillshade` → `raster.WriteFile` | %s | %.2f | %s |\n", secs(o.wall), ratio(o.wall, g.wall), cpu(o))
	var t stage
	if len(res.tiled) > 0 {
		t = res.tiled.median()
		fmt.Fprintf(w, "| geocluster, one process, tiled: %d tiles of %d (halo 1) on %d goroutines | %s | %.2f | %s |\n",
			res.tiles, cfg.tile, res.workers, secs(t.wall), ratio(t.wall, g.wall), cpu(t))
	}
	if len(res.cluster) > 0 {
		total := medianDur(res.cluster, func(c clusterRun) time.Duration { return c.total })
		job := medianDur(res.cluster, func(c clusterRun) time.Duration { return c.job })
		fmt.Fprintf(w, "| geocluster, one-process cluster with %d workers (%d task at once each): upload the DEM to `geo_tiles`, job of %d tasks (cut into %d-pixel tiles with a 1-pixel halo, shade each, assemble a COG, %s), download | %s | %.2f | %s |\n",
			cfg.cluster, cfg.capacity, res.cluster[0].tasks, cfg.clusterTile, cogDesc(cfg), secs(total), ratio(total, g.wall), clusterCPU(res.cluster))
		fmt.Fprintf(w, "| the same, the job alone (submit → succeeded) | %s | %.2f | |\n", secs(job), ratio(job, g.wall))
	}
	if len(res.clusterPath) > 0 {
		pt := medianDur(res.clusterPath, func(c clusterRun) time.Duration { return c.total })
		pj := medianDur(res.clusterPath, func(c clusterRun) time.Duration { return c.job })
		fmt.Fprintf(w, "| geocluster, one-process cluster with %d workers (%d task at once each), DEM read by path: job of %d tasks (each tile task reads its %d-pixel window plus halo from the file, shades it and writes its part of the COG, %s; assemble copies the parts' blocks into the COG and writes it by path) | %s | %.2f | %s |\n",
			cfg.cluster, cfg.capacity, res.clusterPath[0].tasks, cfg.clusterTile, cogDesc(cfg), secs(pt), ratio(pt, g.wall), clusterCPU(res.clusterPath))
		fmt.Fprintf(w, "| the same, the job alone (submit → succeeded) | %s | %.2f | |\n", secs(pj), ratio(pj, g.wall))
	}
	fmt.Fprintf(w, "\n| our stages, median: wall (CPU user + sys; minor page faults) | `raster.ReadFile` | hillshade (compute only) | `raster.WriteFile` |\n|---|---:|---:|---:|\n")
	fmt.Fprintf(w, "| one process | %s | %s | %s |\n", partString(o.read), partString(o.compute), partString(o.write))
	if len(res.tiled) > 0 {
		fmt.Fprintf(w, "| one process, tiled | %s | %s | %s |\n", partString(t.read), partString(t.compute), partString(t.write))
	}
	fmt.Fprintf(w, "\nAll runs (wall): gdaldem %s; one process %s", walls(res.gdal), walls(res.ours))
	if len(res.tiled) > 0 {
		fmt.Fprintf(w, "; tiled %s", walls(res.tiled))
	}
	if len(res.cluster) > 0 {
		fmt.Fprintf(w, "; cluster %s", clusterWalls(res.cluster))
	}
	if len(res.clusterPath) > 0 {
		fmt.Fprintf(w, "; cluster by path %s", clusterWalls(res.clusterPath))
	}
	fmt.Fprintf(w, ".\n\n| our output vs gdaldem's (decoded with raster.ReadFile) | pixels differing | max abs diff | size, type, nodata, georeferencing |\n|---|---:|---:|---|\n")
	for _, v := range res.verify {
		grid := "same"
		if v.grid != "" {
			grid = v.grid
		}
		fmt.Fprintf(w, "| %s | %s of %s | %g | %s |\n", v.name, thousands(v.differ), thousands(v.pixels), v.maxDiff, grid)
	}
}

func ratio(a, b time.Duration) float64 { return a.Seconds() / b.Seconds() }

func partString(p part) string {
	return fmt.Sprintf("%.2f s (%.2f + %.2f; %s)", p.Wall.Seconds(), p.User.Seconds(), p.Sys.Seconds(), thousands(int(p.Faults)))
}

func cpu(s stage) string {
	return fmt.Sprintf("%.2f + %.2f s", s.user.Seconds(), s.sys.Seconds())
}

func walls(ts timings) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = fmt.Sprintf("%.2f", t.wall.Seconds())
	}
	return strings.Join(s, ", ") + " s"
}

// clusterCPU is the median CPU time of the cluster's process over its runs.
func clusterCPU(runs []clusterRun) string {
	u := medianDur(runs, func(c clusterRun) time.Duration { return c.cpu.User })
	s := medianDur(runs, func(c clusterRun) time.Duration { return c.cpu.Sys })
	return fmt.Sprintf("%.2f + %.2f s", u.Seconds(), s.Seconds())
}

// cogDesc says how the cluster's COG is compressed.
func cogDesc(cfg config) string {
	if cfg.cogCompression == "none" {
		return "uncompressed"
	}
	if cfg.cogLevel == 0 {
		return "Deflate level 6"
	}
	return fmt.Sprintf("Deflate level %d", cfg.cogLevel)
}

func clusterWalls(runs []clusterRun) string {
	s := make([]string, len(runs))
	for i, r := range runs {
		s[i] = fmt.Sprintf("%.2f", r.total.Seconds())
	}
	return strings.Join(s, ", ") + " s"
}

// thousands formats n with comma separators.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func medianDur(runs []clusterRun, f func(clusterRun) time.Duration) time.Duration {
	v := make([]time.Duration, len(runs))
	for i, r := range runs {
		v[i] = f(r)
	}
	slices.Sort(v)
	return (v[(len(v)-1)/2] + v[len(v)/2]) / 2
}
