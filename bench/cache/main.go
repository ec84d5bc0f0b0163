// Command cache benchmarks the tile cache against reading the object store
// directly, in one run on one embedded server (file storage) with one
// cache node (services/cache) in the same process:
//
//   - hit latency: one reader gets the same tiles again and again, p50/p99,
//     through a cache node (no near-cache: every read crosses NATS), from
//     the client's near-cache, and straight from geo_tiles (GetBytes);
//   - throughput: R reader clients (stand-ins for workers, each on its own
//     connection, C goroutines each) read the tile set round-robin for a
//     fixed time, through the node, through the near-cache, and straight
//     from the store; MB/s and reads/s.
//
// Tiles are random bytes, as incompressible as the ZSTD GeoTIFFs workers
// write, so the node stores them raw.
//
// Rows run interleaved, in rounds.
//
// Usage: go run ./bench/cache [-tile 2097152] [-tiles 32] [-samples 300]
// [-duration 5s] [-readers 2] [-conc 1] [-rounds 3]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"time"
)

type config struct {
	tile, tiles, samples, readers, conc, rounds int
	duration                                    time.Duration
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var cfg config
	flag.IntVar(&cfg.tile, "tile", 2<<20, "tile size in bytes")
	flag.IntVar(&cfg.tiles, "tiles", 32, "tiles in the working set")
	flag.IntVar(&cfg.samples, "samples", 300, "reads per latency row")
	flag.DurationVar(&cfg.duration, "duration", 5*time.Second, "time per throughput row")
	flag.IntVar(&cfg.readers, "readers", 2, "reader clients in the throughput rows")
	flag.IntVar(&cfg.conc, "conc", 1, "goroutines per reader client")
	flag.IntVar(&cfg.rounds, "rounds", 3, "rounds of every row")
	flag.Parse()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config) error {
	e, err := startEnv(ctx, cfg)
	if err != nil {
		return err
	}
	defer e.stop()
	fmt.Printf("# tile cache vs object store — %s, GOMAXPROCS=%d, %d tiles of %d KiB, file storage, 1 cache node\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.GOMAXPROCS(0), cfg.tiles, cfg.tile>>10)

	// Rows run interleaved in rounds, so that load from outside the run
	// weighs on every row alike: latency samples are pooled, throughput is
	// the median round.
	modes := []mode{readStore, readNode, readNear}
	lat := map[mode]latencies{}
	rates := map[mode][]rate{}
	for round := range cfg.rounds {
		for _, m := range modes {
			l, err := e.latency(ctx, cfg, m)
			if err != nil {
				return fmt.Errorf("round %d, %s latency: %w", round, m, err)
			}
			lat[m] = append(lat[m], l...)
		}
		for _, m := range modes {
			r, err := e.throughput(ctx, cfg, m)
			if err != nil {
				return fmt.Errorf("round %d, %s throughput: %w", round, m, err)
			}
			rates[m] = append(rates[m], r)
		}
	}
	store, node := lat[readStore], lat[readNode]
	fmt.Printf("| hit latency (%d reads x %d rounds) | p50 | p99 | p50 vs store |\n|---|---:|---:|---:|\n", cfg.samples, cfg.rounds)
	for _, m := range modes {
		fmt.Printf("| %s | %s | %s | %.2fx |\n", m, ms(lat[m].p(50)), ms(lat[m].p(99)), float64(store.p(50))/float64(lat[m].p(50)))
	}
	fmt.Printf("\n| throughput (%d readers x %d goroutines, %s, median of %d rounds) | MB/s | reads/s | vs store |\n|---|---:|---:|---:|\n",
		cfg.readers, cfg.conc, cfg.duration, cfg.rounds)
	base, nodeRate := median(rates[readStore]), median(rates[readNode])
	for _, m := range modes {
		r := median(rates[m])
		fmt.Printf("| %s | %.0f | %.0f | %.2fx |\n", m, r.mbps(), r.perSec(), r.mbps()/base.mbps())
	}
	fmt.Printf("\nratios: node hit p50 %.2fx faster than the store, p99 %.2fx; node throughput %.2fx the store's\n",
		float64(store.p(50))/float64(node.p(50)), float64(store.p(99))/float64(node.p(99)), nodeRate.mbps()/base.mbps())
	e.stopNode()
	st := e.nodeStats()
	fmt.Printf("\nnode: %d hits, %d misses, %d entries, %d MiB held, compression ratio %.2f\n",
		st.Hits, st.Misses, st.Entries, st.Bytes>>20, st.CompressionRatio)
	return nil
}
