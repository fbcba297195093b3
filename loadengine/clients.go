package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// client sends one predict request and names its outcome like
// loadtest/clients.py: ("200", "") or (status, error kind).
type client interface {
	call() (status, kind string)
	close()
}

// restClient is fasthttp's HostClient: the calling goroutine writes the
// request and reads the reply itself, where net/http hands each request to a
// connection's reader and writer goroutines (measured closed loop on loopback:
// 0.51x wrk's throughput with net/http).
type restClient struct {
	host     *fasthttp.HostClient
	requests sync.Pool // prepared requests, reused after each call
	timeout  time.Duration
}

func newRESTClient(cfg *Config, body []byte) (*restClient, error) {
	uri := fasthttp.AcquireURI()
	defer fasthttp.ReleaseURI(uri)
	if err := uri.Parse(nil, []byte(cfg.URL)); err != nil {
		return nil, fmt.Errorf("REST URL %q: %w", cfg.URL, err)
	}
	if string(uri.Scheme()) != "http" {
		return nil, fmt.Errorf("REST URL %q: only http:// is supported", cfg.URL)
	}
	timeout := time.Duration(cfg.DeadlineS * float64(time.Second))
	c := &restClient{
		host: &fasthttp.HostClient{
			Addr:                     string(uri.Host()),
			MaxConns:                 cfg.Connections,
			MaxConnWaitTimeout:       timeout,
			NoDefaultUserAgentHeader: true,
			// One write() per request, as wrk does: fasthttp's default 4 KiB
			// buffer split a 5 KB predict body into two (measured closed loop
			// 29.5k -> 34.5k req/s against the Go loopback).
			WriteBufferSize: len(body) + 4096,
		},
		timeout: timeout,
	}
	c.requests.New = func() any {
		req := &fasthttp.Request{}
		req.SetRequestURI(cfg.URL)
		req.Header.SetMethod(fasthttp.MethodPost)
		req.Header.SetContentType("application/json")
		req.SetBodyRaw(body)
		return req
	}
	return c, nil
}

func (c *restClient) call() (string, string) {
	req := c.requests.Get().(*fasthttp.Request)
	resp := fasthttp.AcquireResponse()
	defer c.requests.Put(req)
	defer fasthttp.ReleaseResponse(resp)
	if err := c.host.DoTimeout(req, resp, c.timeout); err != nil {
		return restError(err)
	}
	if code := resp.StatusCode(); code != fasthttp.StatusOK {
		text := strconv.Itoa(code)
		return text, "http_" + text
	}
	return "200", ""
}

// restError sorts a transport error into timeout, connection or client.
func restError(err error) (string, string) {
	var netErr net.Error
	if errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &netErr) && netErr.Timeout()) {
		return "timeout", "timeout"
	}
	for _, errno := range []syscall.Errno{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EPIPE} {
		if errors.Is(err, errno) {
			return "connection", "connection:" + errnoName(errno)
		}
	}
	if errors.Is(err, fasthttp.ErrConnectionClosed) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) {
		return "connection", "connection:ServerDisconnected"
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return "connection", "connection:" + opErr.Op
	}
	return "client", fmt.Sprintf("client:%T", err)
}

func errnoName(errno syscall.Errno) string {
	switch errno {
	case syscall.ECONNREFUSED:
		return "ECONNREFUSED"
	case syscall.ECONNRESET:
		return "ECONNRESET"
	default:
		return "EPIPE"
	}
}

func (c *restClient) close() { c.host.CloseIdleConnections() }

// rawCodec sends and receives pre-serialized protobuf bytes.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = data
	return nil
}
func (rawCodec) Name() string { return "proto" }

// grpcClient round-robins over K ClientConns, each its own TCP connection.
type grpcClient struct {
	conns   []*grpc.ClientConn
	method  string
	request []byte
	timeout time.Duration
	next    atomic.Uint64
}

func newGRPCClient(cfg *Config, request []byte) (*grpcClient, error) {
	c := &grpcClient{
		method:  cfg.Method,
		request: request,
		timeout: time.Duration(cfg.DeadlineS * float64(time.Second)),
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	for range cfg.Connections {
		conn, err := grpc.NewClient(cfg.Target,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(
				grpc.ForceCodec(rawCodec{}),
				grpc.MaxCallRecvMsgSize(1<<31-1),
				grpc.MaxCallSendMsgSize(1<<31-1),
			),
		)
		if err != nil {
			c.close()
			return nil, err
		}
		c.conns = append(c.conns, conn)
		conn.Connect()
		for state := conn.GetState(); state != connectivity.Ready; state = conn.GetState() {
			if !conn.WaitForStateChange(ctx, state) {
				c.close()
				return nil, fmt.Errorf("gRPC %s not ready within %s", cfg.Target, c.timeout)
			}
		}
	}
	return c, nil
}

func (c *grpcClient) call() (string, string) {
	conn := c.conns[c.next.Add(1)%uint64(len(c.conns))]
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	var reply []byte
	err := conn.Invoke(ctx, c.method, &c.request, &reply)
	if err == nil {
		return "OK", ""
	}
	name := codeNames[status.Code(err)]
	return name, "grpc_" + name
}

func (c *grpcClient) close() {
	for _, conn := range c.conns {
		conn.Close()
	}
}
