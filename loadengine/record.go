package main

import (
	"bufio"
	"encoding/binary"
	"os"
	"sync"
)

// Row is one request: nanoseconds from the start instant (Sent is -1 for a
// request scheduled but never sent), and indexes into Result.Outcomes.
type Row struct {
	Scheduled, Dispatched, Sent, Done int64
	Outcome                           int32
}

// Outcome is a final status and its error kind ("" on success).
type Outcome struct {
	Status string `json:"status"`
	Error  string `json:"error"`
}

// Result is what stdout carries besides the rows.
type Result struct {
	Outcomes    []Outcome `json:"outcomes"`
	MaxBacklog  int64     `json:"max_backlog"`
	Aborted     bool      `json:"aborted"`
	AbortReason string    `json:"abort_reason"`
	CPUS        float64   `json:"cpu_s"`
	WallS       float64   `json:"wall_s"`
}

// outcomes interns (status, error) pairs so a row carries one int32.
type outcomes struct {
	mu    sync.Mutex
	index map[Outcome]int32
	list  []Outcome
}

func (o *outcomes) id(status, kind string) int32 {
	key := Outcome{status, kind}
	o.mu.Lock()
	defer o.mu.Unlock()
	if id, ok := o.index[key]; ok {
		return id
	}
	if o.index == nil {
		o.index = map[Outcome]int32{}
	}
	id := int32(len(o.list))
	o.index[key] = id
	o.list = append(o.list, key)
	return id
}

// writeRows writes 36-byte little-endian rows: four int64 and one int32.
func writeRows(path string, rows []Row) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var buf [36]byte
	for _, r := range rows {
		binary.LittleEndian.PutUint64(buf[0:], uint64(r.Scheduled))
		binary.LittleEndian.PutUint64(buf[8:], uint64(r.Dispatched))
		binary.LittleEndian.PutUint64(buf[16:], uint64(r.Sent))
		binary.LittleEndian.PutUint64(buf[24:], uint64(r.Done))
		binary.LittleEndian.PutUint32(buf[32:], uint32(r.Outcome))
		if _, err := w.Write(buf[:]); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
