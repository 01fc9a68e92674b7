// Command grpc is a runnable example: one gRPC greeter service serving two
// tenants, each with its own issuer and keys, with a guarded method, and a
// client calling it with each tenant's token.
//
//	go run ./examples/grpc          # start, call the service, print the answers, exit
//	go run ./examples/grpc -serve   # keep serving and print a grpcurl command
//
// The service is declared by hand (grpc.ServiceDesc with well-known
// wrapper messages) so that the example needs no generated code; a real
// service registers its generated descriptor the same way. The two issuers
// are local fakes (issuer/issuertest), so the example needs no outside
// services.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/middleware/grpcauth"
)

func main() {
	serve := flag.Bool("serve", false, "keep serving after the sample calls")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, *serve); err != nil {
		fmt.Fprintln(os.Stderr, "grpc:", err)
		os.Exit(1)
	}
}

// The greeter's full method names, the keys of per-method guards.
const (
	sayHello    = "/greeter.v1.Greeter/SayHello"
	resetCounts = "/greeter.v1.Greeter/ResetCounts"
)

// GreeterServer is the service's interface, as protoc-gen-go-grpc would
// generate it.
type GreeterServer interface {
	SayHello(context.Context, *wrapperspb.StringValue) (*wrapperspb.StringValue, error)
	ResetCounts(context.Context, *wrapperspb.StringValue) (*wrapperspb.StringValue, error)
}

// greeter is the service implementation: handlers read the Principal with
// tenantjwt.FromContext, as net/http handlers do.
type greeter struct{}

func (greeter) SayHello(ctx context.Context, name *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	p, _ := tenantjwt.FromContext(ctx)
	return wrapperspb.String(fmt.Sprintf("hello %s, from %s of tenant %s", name.GetValue(), p.Subject(), p.Tenant())), nil
}

func (greeter) ResetCounts(ctx context.Context, _ *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	p, _ := tenantjwt.FromContext(ctx)
	return wrapperspb.String("counts reset in tenant " + p.Tenant()), nil
}

// greeterService is the descriptor protoc-gen-go-grpc would generate for
//
//	service Greeter {
//	  rpc SayHello(google.protobuf.StringValue) returns (google.protobuf.StringValue);
//	  rpc ResetCounts(google.protobuf.StringValue) returns (google.protobuf.StringValue);
//	}
var greeterService = grpc.ServiceDesc{
	ServiceName: "greeter.v1.Greeter",
	HandlerType: (*GreeterServer)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "SayHello", Handler: unary(sayHello, GreeterServer.SayHello)},
		{MethodName: "ResetCounts", Handler: unary(resetCounts, GreeterServer.ResetCounts)},
	},
}

type method func(GreeterServer, context.Context, *wrapperspb.StringValue) (*wrapperspb.StringValue, error)

func unary(name string, m method) func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
	return func(srv any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
		in := new(wrapperspb.StringValue)
		if err := dec(in); err != nil {
			return nil, err
		}
		h := func(ctx context.Context, req any) (any, error) {
			return m(srv.(GreeterServer), ctx, req.(*wrapperspb.StringValue))
		}
		if icpt == nil {
			return h(ctx, in)
		}
		return icpt(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: name}, h)
	}
}

// newServer is the part a real service keeps: the interceptors with their
// per-method guards, the service, and the health service (not
// authenticated by default, so load balancers can probe it).
func newServer(reg *issuer.Registry) *grpc.Server {
	auth := grpcauth.New(reg, grpcauth.Config{
		Guards: map[string][]grpcauth.Guard{
			resetCounts: {grpcauth.RequireRoles("admin")},
		},
	})
	srv := grpc.NewServer(auth.ServerOptions()...)
	srv.RegisterService(&greeterService, greeter{})
	healthpb.RegisterHealthServer(srv, health.NewServer())
	return srv
}

func run(ctx context.Context, out io.Writer, serve bool) error {
	// Two tenants, two issuers, two keys (RS256 and ES256).
	acme, err := issuertest.NewServer(issuertest.WithPath("/acme"))
	if err != nil {
		return err
	}
	defer acme.Close()
	globex, err := issuertest.NewServer(issuertest.WithPath("/globex"), issuertest.WithAlgorithm("ES256"))
	if err != nil {
		return err
	}
	defer globex.Close()
	acmeCfg := acme.LocalConfig()
	acmeCfg.Name, acmeCfg.Tenant = "acme", "acme"
	globexCfg := globex.LocalConfig()
	globexCfg.Name, globexCfg.Tenant = "globex", "globex"
	reg, err := issuer.New(issuer.Options{}, acmeCfg, globexCfg)
	if err != nil {
		return err
	}
	defer reg.Close()

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := newServer(reg)
	go srv.Serve(lis)
	defer srv.Stop()

	// The client: production code would use TLS credentials.
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()

	alice := acme.Mint(map[string]any{"sub": "alice", "roles": []string{"admin"}})
	bob := globex.Mint(map[string]any{"sub": "bob", "roles": []string{"viewer"}})
	calls := []struct{ what, method, token string }{
		{"alice (acme admin) says hello", sayHello, alice},
		{"alice resets acme's counts", resetCounts, alice},
		{"bob (globex viewer) says hello", sayHello, bob},
		{"bob tries to reset counts", resetCounts, bob},
		{"no token", sayHello, ""},
	}
	for _, c := range calls {
		answer, challenge := call(ctx, conn, c.method, c.token)
		fmt.Fprintf(out, "%-32s -> %s\n", c.what, answer)
		if challenge != "" {
			fmt.Fprintf(out, "%-32s    www-authenticate: %s\n", "", challenge)
		}
	}
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	fmt.Fprintf(out, "%-32s -> %v\n", "health check without a token", status.Code(err))
	if !serve {
		return nil
	}
	fmt.Fprintf(out, "\nserving on %s until interrupted (no reflection: pass the method), for example:\n"+
		"grpcurl -plaintext -H 'authorization: Bearer %s' -d '\"you\"' %s greeter.v1.Greeter/SayHello\n",
		lis.Addr(), alice, lis.Addr())
	<-ctx.Done()
	return nil
}

// call makes one unary call with token, returning the answer (or the
// status) and the www-authenticate challenge of a refusal.
func call(ctx context.Context, conn *grpc.ClientConn, method, token string) (answer, challenge string) {
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	var header metadata.MD
	resp := new(wrapperspb.StringValue)
	if err := conn.Invoke(ctx, method, wrapperspb.String("world"), resp, grpc.Header(&header)); err != nil {
		st := status.Convert(err)
		if v := header.Get("www-authenticate"); len(v) > 0 {
			challenge = v[0]
		}
		return fmt.Sprintf("%v: %s", st.Code(), st.Message()), challenge
	}
	return resp.GetValue(), ""
}
