package main

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// now is CLOCK_MONOTONIC in nanoseconds (a vDSO call).
func now() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// timer wakes the dispatcher at an absolute instant. Go's own timers round a
// wait below 1 ms up to 1 ms (the netpoller takes milliseconds), which alone
// would fail the 2 ms dispatch-lag gate; a timerfd read on a locked thread
// wakes within microseconds.
type timer struct{ fd int }

func newTimer() (*timer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return &timer{fd: fd}, nil
}

// waitUntil blocks the calling (locked) thread until CLOCK_MONOTONIC >= at.
func (t *timer) waitUntil(at int64) {
	if at <= now() {
		return
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(at)}
	if err := unix.TimerfdSettime(t.fd, unix.TFD_TIMER_ABSTIME, &spec, nil); err != nil {
		time.Sleep(time.Duration(at - now()))
		return
	}
	var buf [8]byte
	for {
		if _, err := unix.Read(t.fd, buf[:]); err != unix.EINTR {
			return
		}
	}
}

func (t *timer) close() { unix.Close(t.fd) }

// lockThread keeps the dispatcher on one OS thread for its timerfd reads.
func lockThread() func() {
	runtime.LockOSThread()
	return runtime.UnlockOSThread
}

func cpuSeconds() float64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
