package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// Config is one worker's load, written by loadtest/go_engine.py.
type Config struct {
	Protocol     string  `json:"protocol"` // "rest" or "grpc"
	URL          string  `json:"url"`      // REST predict URL
	Target       string  `json:"target"`   // gRPC host:port
	Method       string  `json:"method"`   // gRPC full method path
	BodyFile     string  `json:"body_file"`
	Connections  int     `json:"connections"`
	DeadlineS    float64 `json:"deadline_s"`
	ClosedLoop   bool    `json:"closed_loop"`
	Concurrency  int     `json:"concurrency"`
	SpanS        float64 `json:"span_s"` // closed loop: warm-up plus window
	ScheduleFile string  `json:"schedule_file"`
	MaxBacklog   int     `json:"max_backlog"`
	MaxBehindS   float64 `json:"max_behind_s"`
	RecordsFile  string  `json:"records_file"`
}

func (c *Config) validate() error {
	switch {
	case c.Protocol != "rest" && c.Protocol != "grpc":
		return fmt.Errorf("protocol %q: want rest or grpc", c.Protocol)
	case c.Connections < 1:
		return errors.New("connections must be at least 1")
	case c.DeadlineS <= 0:
		return errors.New("deadline_s must be positive")
	case c.RecordsFile == "":
		return errors.New("records_file is required")
	case c.ClosedLoop && (c.Concurrency < 1 || c.SpanS <= 0):
		return errors.New("a closed loop needs concurrency >= 1 and span_s > 0")
	case !c.ClosedLoop && c.ScheduleFile == "":
		return errors.New("an open loop needs schedule_file")
	}
	return nil
}

func readSchedule(path string) ([]int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data)%8 != 0 {
		return nil, fmt.Errorf("%s: %d bytes is not a whole number of int64", path, len(data))
	}
	offsets := make([]int64, len(data)/8)
	for i := range offsets {
		offsets[i] = int64(binary.LittleEndian.Uint64(data[8*i:]))
	}
	return offsets, nil
}
