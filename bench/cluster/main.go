// Command cluster benchmarks geocluster end to end against the raw
// JetStream limit, in one run on one embedded server:
//
//   - raw: publish N task-sized messages to a work-queue stream and have W
//     competing pull consumers fetch and ack them (what the cluster's task
//     path would be with no scheduler, no state and no events);
//   - cluster: submit one job of N independent noop tasks to a one-process
//     cluster with W workers and time submit -> job succeeded event;
//   - latency at light load: one single-task job at a time, submit -> task
//     succeeded event and -> job succeeded event, beside the raw publish ->
//     fetched latency of one message.
//
// Usage: go run ./bench/cluster [-tasks 20000] [-workers 2] [-samples 500]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	tasks := flag.Int("tasks", 20000, "tasks in the throughput runs")
	workers := flag.Int("workers", 2, "workers (and raw competing consumers)")
	samples := flag.Int("samples", 500, "single-task jobs in the latency run")
	rounds := flag.Int("rounds", 3, "throughput rounds; the median is reported")
	memory := flag.Bool("memory", false, "memory storage instead of file storage")
	capacity := flag.Int("capacity", 0, "tasks each worker holds at once (0: the worker default)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	err := run(ctx, config{tasks: *tasks, workers: *workers, samples: *samples, rounds: *rounds, memory: *memory, capacity: *capacity})
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

type config struct {
	tasks, workers, samples, rounds, capacity int
	memory                                    bool
}

func run(ctx context.Context, cfg config) error {
	env, err := startEnv(ctx, cfg)
	if err != nil {
		return err
	}
	defer env.stop()
	fmt.Printf("# geocluster vs raw JetStream — %s, GOMAXPROCS=%d, %d tasks, %d workers, storage=%s\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.GOMAXPROCS(0), cfg.tasks, cfg.workers, env.storage())

	var raw, cl []float64
	before, err := env.streamWrites(ctx)
	if err != nil {
		return err
	}
	for r := range cfg.rounds {
		rr, err := env.rawThroughput(ctx, cfg.tasks, cfg.workers)
		if err != nil {
			return fmt.Errorf("raw round %d: %w", r, err)
		}
		cr, err := env.clusterThroughput(ctx, cfg.tasks, r)
		if err != nil {
			return fmt.Errorf("cluster round %d: %w", r, err)
		}
		fmt.Fprintf(os.Stderr, "round %d: raw %.0f msg/s, cluster %.0f tasks/s\n", r+1, rr, cr)
		raw, cl = append(raw, rr), append(cl, cr)
	}
	after, err := env.streamWrites(ctx)
	if err != nil {
		return err
	}
	rawLat, err := env.rawLatency(ctx, cfg.samples)
	if err != nil {
		return fmt.Errorf("raw latency: %w", err)
	}
	taskLat, jobLat, err := env.clusterLatency(ctx, cfg.samples)
	if err != nil {
		return fmt.Errorf("cluster latency: %w", err)
	}
	rm, cm := median(raw), median(cl)
	fmt.Printf("| throughput (median of %d rounds) | per second | ratio to raw |\n|---|---:|---:|\n", cfg.rounds)
	fmt.Printf("| raw JetStream: publish + %d competing pulls + ack | %.0f msg/s | 1.00 |\n", cfg.workers, rm)
	fmt.Printf("| geocluster: submit -> job succeeded, %d noop tasks, %d workers | %.0f tasks/s | %.2f |\n\n", cfg.tasks, cfg.workers, cm, cm/rm)
	fmt.Printf("| stream | messages stored per task |\n|---|---:|\n")
	total := 0.0
	for _, name := range sortedKeys(after) {
		if d := after[name] - before[name]; d > 0 && !strings.HasPrefix(name, "BENCH_") {
			per := float64(d) / float64(cfg.tasks*cfg.rounds)
			total += per
			fmt.Printf("| %s | %.2f |\n", name, per)
		}
	}
	fmt.Printf("| all | %.2f (raw: 1) |\n\n", total)
	fmt.Printf("| latency at light load (%d samples) | p50 | p99 |\n|---|---:|---:|\n", cfg.samples)
	fmt.Printf("| raw JetStream: publish -> waiting pull receives | %s | %s |\n", ms(pct(rawLat, 50)), ms(pct(rawLat, 99)))
	fmt.Printf("| geocluster: submit -> task succeeded event | %s | %s |\n", ms(pct(taskLat, 50)), ms(pct(taskLat, 99)))
	fmt.Printf("| geocluster: submit -> job succeeded event | %s | %s |\n", ms(pct(jobLat, 50)), ms(pct(jobLat, 99)))
	return nil
}

func sortedKeys(m map[string]uint64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
