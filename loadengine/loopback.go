package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"google.golang.org/grpc"
)

// restReply is a fashion-MNIST-shaped predict answer (ten probabilities).
var restReply = []byte(`{"predictions": [[0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]]}`)

// latency is the known answer time: stalls of stall ns every period ns
// (counted from start) hold every request until the window ends, then each
// waits delay ns. Waits are timerfd reads, exact to microseconds.
type latency struct {
	start, delay, stall, period int64
}

func (l *latency) wait() {
	until := now()
	if l.period > 0 {
		if into := (until - l.start) % l.period; into < l.stall {
			until += l.stall - into
		}
	}
	sleepUntil(until + l.delay)
}

// serveLoopback is `tfs-load-engine loopback`: a REST and gRPC predict server
// whose latency is known, for `make bench` to check the generators against the
// truth with CPU to spare (the Python loopback server costs more per request
// than the generators it measures).
func serveLoopback(args []string) error {
	fs := flag.NewFlagSet("loopback", flag.ContinueOnError)
	restPort := fs.Int("rest-port", 0, "REST port")
	grpcPort := fs.Int("grpc-port", 0, "gRPC port")
	delayMS := fs.Float64("delay-ms", 0, "fixed delay per request")
	stallMS := fs.Float64("stall-ms", 0, "stall length")
	periodMS := fs.Float64("stall-period-ms", 0, "a stall starts every this many ms")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *periodMS > 0 && *stallMS >= *periodMS {
		return fmt.Errorf("--stall-ms %g must be shorter than --stall-period-ms %g", *stallMS, *periodMS)
	}
	l := &latency{start: now(), delay: int64(*delayMS * 1e6), stall: int64(*stallMS * 1e6), period: int64(*periodMS * 1e6)}
	restLn, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(*restPort))
	if err != nil {
		return err
	}
	grpcLn, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(*grpcPort))
	if err != nil {
		return err
	}
	rest := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		l.wait()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(restReply)
	})}
	rpc := grpc.NewServer(
		grpc.ForceServerCodec(rawCodec{}),
		grpc.MaxRecvMsgSize(1<<31-1),
		grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
			var request []byte
			if err := stream.RecvMsg(&request); err != nil {
				return err
			}
			l.wait()
			reply := []byte{} // an empty PredictResponse
			return stream.SendMsg(&reply)
		}),
	)
	go func() { _ = rest.Serve(restLn) }()
	go func() { _ = rpc.Serve(grpcLn) }()
	fmt.Printf("rest=%d grpc=%d\n", restLn.Addr().(*net.TCPAddr).Port, grpcLn.Addr().(*net.TCPAddr).Port)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	<-signals
	rpc.Stop()
	return rest.Close()
}
