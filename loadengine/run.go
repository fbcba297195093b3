package main

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// startDelay leaves the first arrival 20 ms after set-up, like the Python engine.
const startDelay = 20_000_000

type worker struct {
	cfg      *Config
	client   client
	t0       int64
	outcomes outcomes
	pending  atomic.Int64
	backlog  int64
	aborted  atomic.Bool
	once     sync.Once
	reason   string
}

func (w *worker) abort(format string, args ...any) {
	w.once.Do(func() {
		w.reason = fmt.Sprintf(format, args...)
		w.aborted.Store(true)
		fmt.Fprintf(os.Stderr, "tfs-load-engine: %s; aborting the run (INVALID)\n", w.reason)
	})
}

func (w *worker) since() int64 { return now() - w.t0 }

func run(cfg *Config) (*Result, []Row, error) {
	body, err := os.ReadFile(cfg.BodyFile)
	if err != nil {
		return nil, nil, err
	}
	w := &worker{cfg: cfg}
	if cfg.Protocol == "rest" {
		c, err := newRESTClient(cfg, body)
		if err != nil {
			return nil, nil, err
		}
		w.client = c
	} else {
		c, err := newGRPCClient(cfg, body)
		if err != nil {
			return nil, nil, err
		}
		w.client = c
	}
	defer w.client.close()
	var schedule []int64
	if !cfg.ClosedLoop {
		if schedule, err = readSchedule(cfg.ScheduleFile); err != nil {
			return nil, nil, err
		}
	}
	cpu0, wall0 := cpuSeconds(), now()
	w.t0 = now() + startDelay
	var rows []Row
	if cfg.ClosedLoop {
		rows = w.closedLoop()
	} else {
		rows = w.openLoop(schedule)
	}
	return &Result{
		Outcomes:    w.outcomes.list,
		MaxBacklog:  w.backlog,
		Aborted:     w.aborted.Load(),
		AbortReason: w.reason,
		CPUS:        cpuSeconds() - cpu0,
		WallS:       float64(now()-wall0) / 1e9,
	}, rows, nil
}

func (w *worker) openLoop(schedule []int64) []Row {
	rows := make([]Row, len(schedule))
	for i, at := range schedule {
		rows[i] = Row{Scheduled: at, Dispatched: -1, Sent: -1, Done: -1}
	}
	var sem chan struct{}
	if w.cfg.Protocol == "rest" {
		sem = make(chan struct{}, w.cfg.Connections)
	}
	var wg sync.WaitGroup
	tm, err := newTimer()
	if err != nil {
		w.abort("timerfd: %v", err)
		return rows
	}
	for i := 0; i < len(rows) && !w.aborted.Load(); {
		t := w.since()
		for ; i < len(rows) && rows[i].Scheduled <= t; i++ {
			w.pending.Add(1)
			wg.Add(1)
			go w.one(&rows[i], sem, &wg)
		}
		if p := w.pending.Load(); p > w.backlog {
			w.backlog = p
			if p > int64(w.cfg.MaxBacklog) {
				w.abort("backlog %d exceeds bound %d", p, w.cfg.MaxBacklog)
			}
		}
		if i < len(rows) {
			tm.waitUntil(w.t0 + rows[i].Scheduled)
		}
	}
	tm.close()
	wg.Wait()
	return rows
}

func (w *worker) one(r *Row, sem chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	r.Dispatched = w.since()
	if sem != nil {
		sem <- struct{}{}
		defer func() { <-sem }()
	}
	sent := w.since()
	w.pending.Add(-1)
	if w.aborted.Load() {
		return
	}
	if behind := sent - r.Scheduled; float64(behind) > w.cfg.MaxBehindS*1e9 {
		w.abort("request sent %.1fs behind schedule", float64(behind)/1e9)
		return
	}
	status, kind := w.client.call()
	r.Done = w.since()
	r.Sent = sent
	r.Outcome = w.outcomes.id(status, kind)
}

func (w *worker) closedLoop() []Row {
	end := int64(w.cfg.SpanS * 1e9)
	perUser := make([][]Row, w.cfg.Concurrency)
	var wg sync.WaitGroup
	for u := range perUser {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				sent := w.since()
				if sent >= end {
					return
				}
				if sent < 0 {
					time.Sleep(time.Duration(-sent))
					continue
				}
				status, kind := w.client.call()
				perUser[u] = append(perUser[u], Row{
					Scheduled: sent, Dispatched: sent, Sent: sent, Done: w.since(),
					Outcome: w.outcomes.id(status, kind),
				})
			}
		}()
	}
	wg.Wait()
	var rows []Row
	for _, r := range perUser {
		rows = append(rows, r...)
	}
	return rows
}
