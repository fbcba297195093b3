package main

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// now is CLOCK_MONOTONIC in nanoseconds (a vDSO call).
func now() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// timer wakes a goroutine at an absolute instant. Go's own timers round a wait
// below 1 ms up to 1 ms (the netpoller's timeout is in milliseconds), which
// alone would fail the 2 ms dispatch-lag gate. A non-blocking timerfd read
// goes through the netpoller instead: it parks the goroutine, not its thread
// (a blocking read holds a P until sysmon takes it back, up to 10 ms when the
// process is idle), and the fd turns readable at the exact instant.
type timer struct{ f *os.File }

func newTimer() (*timer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return &timer{f: os.NewFile(uintptr(fd), "timerfd")}, nil
}

// waitUntil returns once CLOCK_MONOTONIC >= at.
func (t *timer) waitUntil(at int64) {
	if at <= now() {
		return
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(at)}
	if err := unix.TimerfdSettime(int(t.f.Fd()), unix.TFD_TIMER_ABSTIME, &spec, nil); err != nil {
		time.Sleep(time.Duration(at - now()))
		return
	}
	var buf [8]byte
	_, _ = t.f.Read(buf[:])
}

func (t *timer) close() { t.f.Close() }

// sleepUntil is waitUntil on a timer of its own (the loopback server's waits).
func sleepUntil(at int64) {
	if at <= now() {
		return
	}
	t, err := newTimer()
	if err != nil {
		time.Sleep(time.Duration(at - now()))
		return
	}
	defer t.close()
	t.waitUntil(at)
}

func cpuSeconds() float64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
