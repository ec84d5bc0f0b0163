package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"syscall"
	"time"

	"github.com/geocluster/geocluster/libs/raster"
)

// Our runs are processes of their own, as gdaldem's are: the harness runs
// its own executable with childArg first, so that every run starts with a
// fresh heap (no memory already mapped by an earlier run) and its wall and
// CPU times are a process's, comparable with gdaldem's.
const childArg = "run-ours"

// childReport is what a child prints on stdout: the parts of its run.
type childReport struct {
	Read    part `json:"read"`
	Compute part `json:"compute"`
	Write   part `json:"write"`
	Tiles   int  `json:"tiles"`
}

// part is one part of a run: its wall time, and the process's CPU time
// (all goroutines, the garbage collector's included) and minor page faults
// (memory the kernel maps on first touch) during it.
type part struct {
	Wall   time.Duration `json:"wall_ns"`
	User   time.Duration `json:"user_ns"`
	Sys    time.Duration `json:"sys_ns"`
	Faults int64         `json:"minor_faults"`
}

// clock is a point in a process's wall and CPU time.
type clock struct {
	at        time.Time
	user, sys time.Duration
	faults    int64
}

func now() clock {
	c := clock{at: time.Now()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		c.user, c.sys, c.faults = time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano()), ru.Minflt
	}
	return c
}

// since is the part from c to now.
func (c clock) since() (part, clock) {
	n := now()
	return part{Wall: n.at.Sub(c.at), User: n.user - c.user, Sys: n.sys - c.sys, Faults: n.faults - c.faults}, n
}

// childArgs are the arguments that make a child run our hillshade of in
// into out: whole-raster when tile is 0, else tiled.
func childArgs(in, out string, tile int) []string {
	return []string{childArg, "-in", in, "-out", out, "-tile", fmt.Sprint(tile)}
}

// runChild is a child: raster.ReadFile -> hillshade -> raster.WriteFile
// (uncompressed strips, as gdaldem writes), each part timed.
func runChild(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(childArg, flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "input DEM")
	out := fs.String("out", "", "output hillshade")
	tile := fs.Int("tile", 0, "tile size; 0 computes the whole raster with raster.Hillshade")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || *out == "" || *tile < 0 {
		return fmt.Errorf("%s: need -in, -out and -tile >= 0", childArg)
	}
	p := hillshadeParams()
	var rep childReport
	c := now()
	src, err := raster.ReadFile(*in)
	if err != nil {
		return err
	}
	rep.Read, c = c.since()
	var hs *raster.Raster
	if *tile == 0 {
		hs, err = raster.Hillshade(src, 0, p)
	} else {
		hs, rep.Tiles, err = hillshadeTiled(src, p, *tile, workers())
	}
	if err != nil {
		return err
	}
	rep.Compute, c = c.since()
	if err := raster.WriteFile(*out, hs, raster.EncodeOptions{}); err != nil {
		return err
	}
	rep.Write, _ = c.since()
	return json.NewEncoder(stdout).Encode(rep)
}
