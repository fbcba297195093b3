// Command remove-pods stops and removes every pod sandbox of a CRI runtime.
//
// Usage: remove-pods -endpoint unix:///run/tf-serving-k8s/containerd/containerd.sock
//
// hack/cluster-down.sh runs it after stopping the kubelet so that the runtime
// tears each pod's network down through CNI (IP released, netns deleted)
// before the runtime itself stops. It stands in for `crictl rmp --all --force`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"go.opentelemetry.io/otel/trace/noop"
	criremote "k8s.io/cri-client/pkg"
)

func main() {
	endpoint := flag.String("endpoint", "", "CRI runtime endpoint, e.g. unix:///run/containerd/containerd.sock")
	timeout := flag.Duration("timeout", 60*time.Second, "overall time limit")
	flag.Parse()
	if *endpoint == "" {
		fmt.Fprintln(os.Stderr, "remove-pods: -endpoint is required, e.g. -endpoint unix:///run/containerd/containerd.sock")
		os.Exit(2)
	}
	if err := run(*endpoint, *timeout); err != nil {
		fmt.Fprintf(os.Stderr, "remove-pods: %v\n", err)
		os.Exit(1)
	}
}

func run(endpoint string, timeout time.Duration) error {
	runtime, err := criremote.NewRemoteRuntimeService(endpoint, 10*time.Second, noop.NewTracerProvider(), nil)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", endpoint, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	sandboxes, err := runtime.ListPodSandbox(ctx, nil)
	if err != nil {
		return fmt.Errorf("list pod sandboxes: %w", err)
	}
	failed := 0
	for _, sandbox := range sandboxes {
		name := sandbox.GetMetadata().GetNamespace() + "/" + sandbox.GetMetadata().GetName()
		if err := runtime.StopPodSandbox(ctx, sandbox.GetId()); err != nil {
			fmt.Fprintf(os.Stderr, "remove-pods: stop %s: %v\n", name, err)
		}
		if err := runtime.RemovePodSandbox(ctx, sandbox.GetId()); err != nil {
			fmt.Fprintf(os.Stderr, "remove-pods: remove %s: %v\n", name, err)
			failed++
			continue
		}
		fmt.Printf("removed pod %s\n", name)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d pod sandboxes could not be removed", failed, len(sandboxes))
	}
	return nil
}
