// Command tfs-load-engine is tfs-load's Go engine: it sends one worker's load
// and writes every request's timestamps; tfs-load (Python) turns them into the
// same histograms, gates and reports as its own engine.
//
// Input: a JSON Config on stdin; the open-loop arrival schedule (int64
// little-endian nanosecond offsets) in Config.ScheduleFile. Output: one Row
// per request in Config.RecordsFile and a JSON Result on stdout.
//
// `tfs-load-engine loopback` is instead a predict server with a known latency
// (loopback.go) for `make bench`.
//
// Usage:
//
//	tfs-load-engine < config.json > result.json
//	tfs-load-engine loopback --delay-ms 10 --stall-ms 100 --stall-period-ms 1000
package main

import (
	"encoding/json"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "loopback" {
		if err := serveLoopback(os.Args[2:]); err != nil {
			fatal("loopback: %v", err)
		}
		return
	}
	var cfg Config
	if err := json.NewDecoder(os.Stdin).Decode(&cfg); err != nil {
		fatal("reading the config from stdin: %v", err)
	}
	if err := cfg.validate(); err != nil {
		fatal("%v", err)
	}
	result, rows, err := run(&cfg)
	if err != nil {
		fatal("%v", err)
	}
	if err := writeRows(cfg.RecordsFile, rows); err != nil {
		fatal("writing %s: %v", cfg.RecordsFile, err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(result); err != nil {
		fatal("writing the result: %v", err)
	}
}

func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "tfs-load-engine: "+format+"\n", args...)
	os.Exit(2)
}
