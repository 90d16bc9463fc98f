// Command goclient calls a resource provider's Create the way the Pulumi engine does (Go gRPC), and prints
// each call's duration in milliseconds as a JSON list. bench/plugin_overhead.py runs it.
//
//	goclient -addr 127.0.0.1:PORT -urn-prefix URN -props props.json
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"
)

func main() {
	addr := flag.String("addr", "", "provider address")
	urnPrefix := flag.String("urn-prefix", "", "URN prefix; the request index is appended")
	propsPath := flag.String("props", "", "JSON list of property maps, one per Create")
	flag.Parse()

	raw, err := os.ReadFile(*propsPath)
	check(err)
	var props []map[string]any
	check(json.Unmarshal(raw, &props))
	requests := make([]*pulumirpc.CreateRequest, len(props))
	for i, p := range props {
		s, err := structpb.NewStruct(p)
		check(err)
		requests[i] = &pulumirpc.CreateRequest{Urn: fmt.Sprintf("%s%d", *urnPrefix, i), Properties: s}
	}

	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	check(err)
	defer conn.Close()
	client := pulumirpc.NewResourceProviderClient(conn)
	ms := make([]float64, 0, len(requests))
	for _, req := range requests {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		start := time.Now()
		_, err := client.Create(ctx, req)
		ms = append(ms, float64(time.Since(start).Microseconds())/1000)
		cancel()
		check(err)
	}
	check(json.NewEncoder(os.Stdout).Encode(ms))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "goclient:", err)
		os.Exit(1)
	}
}
