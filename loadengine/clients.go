package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

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

type restClient struct {
	url     string
	body    []byte
	http    *http.Client
	timeout time.Duration
}

func newRESTClient(cfg *Config, body []byte, conns int) *restClient {
	transport := &http.Transport{
		MaxConnsPerHost:     conns,
		MaxIdleConnsPerHost: conns,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}
	timeout := time.Duration(cfg.DeadlineS * float64(time.Second))
	return &restClient{
		url:     cfg.URL,
		body:    body,
		http:    &http.Client{Transport: transport, Timeout: timeout},
		timeout: timeout,
	}
}

func (c *restClient) call() (string, string) {
	req, err := http.NewRequest(http.MethodPost, c.url, bytes.NewReader(c.body))
	if err != nil {
		return "client", "client:" + err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return restError(err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return restError(err)
	}
	if resp.StatusCode == http.StatusOK {
		return "200", ""
	}
	code := strconv.Itoa(resp.StatusCode)
	return code, "http_" + code
}

// restError sorts a transport error into timeout, connection or client.
func restError(err error) (string, string) {
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &netErr) && netErr.Timeout()) {
		return "timeout", "timeout"
	}
	for _, errno := range []syscall.Errno{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EPIPE} {
		if errors.Is(err, errno) {
			return "connection", "connection:" + errnoName(errno)
		}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "connection", "connection:ServerDisconnected"
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return "connection", "connection:" + opErr.Op
	}
	return "client", fmt.Sprintf("client:%T", errors.Unwrap(err))
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

func (c *restClient) close() { c.http.CloseIdleConnections() }

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
