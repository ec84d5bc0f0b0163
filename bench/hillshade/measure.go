package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

// stage is one timed run of a tool, a process: its wall time from start to
// exit, its CPU time, and for our runs the parts the process timed.
type stage struct {
	wall, user, sys      time.Duration
	read, compute, write part
}

// timings are the runs of one tool.
type timings []stage

// median is the median of each figure over the runs, figure by figure.
func (ts timings) median() stage {
	mp := func(f func(stage) part) part {
		return part{
			Wall:   medianOf(ts, func(s stage) time.Duration { return f(s).Wall }),
			User:   medianOf(ts, func(s stage) time.Duration { return f(s).User }),
			Sys:    medianOf(ts, func(s stage) time.Duration { return f(s).Sys }),
			Faults: medianOf(ts, func(s stage) int64 { return f(s).Faults }),
		}
	}
	return stage{
		wall:    medianOf(ts, func(s stage) time.Duration { return s.wall }),
		user:    medianOf(ts, func(s stage) time.Duration { return s.user }),
		sys:     medianOf(ts, func(s stage) time.Duration { return s.sys }),
		read:    mp(func(s stage) part { return s.read }),
		compute: mp(func(s stage) part { return s.compute }),
		write:   mp(func(s stage) part { return s.write }),
	}
}

// medianOf is the median of f over the runs: the middle one, or the mean of
// the two middle ones for an even number of runs.
func medianOf[T ~int64](ts timings, f func(stage) T) T {
	v := make([]T, len(ts))
	for i, s := range ts {
		v[i] = f(s)
	}
	slices.Sort(v)
	n := len(v)
	return (v[(n-1)/2] + v[n/2]) / 2
}

// results are everything measured.
type results struct {
	gdal, ours, tiled timings
	cluster           []clusterRun
	clusterPath       []clusterRun
	workers           int // goroutines of the tiled run (GOMAXPROCS)
	tiles             int // tiles of the tiled run
	verify            []verdict
}

// gdaldemCommand is the baseline: gdaldem's defaults (-z 1 -az 315 -alt 45,
// GTiff without compression, GDAL_CACHEMAX as the environment leaves it)
// with the scale for degrees over metres.
func gdaldemCommand(in, out string) []string {
	return []string{"gdaldem", "hillshade", "-s", fmt.Sprint(gdaldemScale), in, out}
}

// workers is the number of goroutines of the tiled run.
func workers() int { return runtime.GOMAXPROCS(0) }

// measure times each tool cfg.runs times, the tools taking turns within a
// run so that a slow spell of the machine hits all of them alike.
func measure(ctx context.Context, cfg config, in string, outs outputs, stderr io.Writer) (results, error) {
	self, err := os.Executable()
	if err != nil {
		return results{}, err
	}
	res := results{workers: workers()}
	for r := range cfg.runs {
		g, err := timeProcess(ctx, outs.gdal, gdaldemCommand(in, outs.gdal), nil)
		if err != nil {
			return res, err
		}
		res.gdal = append(res.gdal, g)
		o, err := timeProcess(ctx, outs.ours, append([]string{self}, childArgs(in, outs.ours, 0)...), new(childReport))
		if err != nil {
			return res, fmt.Errorf("our hillshade: %w", err)
		}
		res.ours = append(res.ours, o)
		line := fmt.Sprintf("run %d/%d: gdaldem %s, ours %s (compute %s)", r+1, cfg.runs, secs(g.wall), secs(o.wall), secs(o.compute.Wall))
		if cfg.tile > 0 {
			rep := new(childReport)
			t, err := timeProcess(ctx, outs.tiled, append([]string{self}, childArgs(in, outs.tiled, cfg.tile)...), rep)
			if err != nil {
				return res, fmt.Errorf("our tiled hillshade: %w", err)
			}
			res.tiled, res.tiles = append(res.tiled, t), rep.Tiles
			line += fmt.Sprintf(", ours tiled %s (compute %s)", secs(t.wall), secs(t.compute.Wall))
		}
		// The cluster reading by path runs before the one uploading the
		// DEM: right after that one (which moves ~1 GB through its store)
		// it measured 4.7-10.7 s instead of ~2.1 s for the same CPU time
		// (3.4 + 0.6 s), waiting on what the upload left behind, not
		// working; gdaldem, which follows it now, is not slowed by it.
		if cfg.cluster > 0 {
			cp, err := timeCluster(ctx, in, outs.clusterPath, cfg, true)
			if err != nil {
				return res, fmt.Errorf("cluster hillshade by path: %w", err)
			}
			res.clusterPath = append(res.clusterPath, cp)
			// The cluster ran in this process: hand its memory back so that
			// the next runs of the other tools do not compete with it.
			debug.FreeOSMemory() // a GC, then the memory back to the OS
			line += fmt.Sprintf(", cluster by path %s (job %s; CPU %s + %s)", secs(cp.total), secs(cp.job), secs(cp.cpu.User), secs(cp.cpu.Sys))
		}
		if cfg.cluster > 0 && cfg.upload {
			c, err := timeCluster(ctx, in, outs.cluster, cfg, false)
			if err != nil {
				return res, fmt.Errorf("cluster hillshade: %w", err)
			}
			res.cluster = append(res.cluster, c)
			debug.FreeOSMemory() // a GC, then the memory back to the OS
			line += fmt.Sprintf(", cluster %s (job %s)", secs(c.total), secs(c.job))
		}
		fmt.Fprintln(stderr, line)
	}
	return res, nil
}

// timeProcess runs argv once into a fresh out. With rep set, the process is
// one of ours and its stdout is decoded into rep.
func timeProcess(ctx context.Context, out string, argv []string, rep *childReport) (stage, error) {
	if err := os.Remove(out); err != nil && !errors.Is(err, os.ErrNotExist) {
		return stage{}, err
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if rep == nil {
		cmd.Stdout = io.Discard // gdaldem's progress
	}
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return stage{}, fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(stderr.String()))
	}
	s := stage{wall: wall, user: cmd.ProcessState.UserTime(), sys: cmd.ProcessState.SystemTime()}
	if rep != nil {
		if err := json.Unmarshal(stdout.Bytes(), rep); err != nil {
			return stage{}, fmt.Errorf("%s: report %q: %w", strings.Join(argv, " "), stdout.String(), err)
		}
		s.read, s.compute, s.write = rep.Read, rep.Compute, rep.Write
	}
	return s, nil
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
