package bench

import (
	"context"
	"net"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/middleware/connectauth"
	"github.com/tenantjwt/tenantjwt/middleware/grpcauth"
)

const rpcMethod = "/bench.v1.Echo/Call"

// BenchmarkRPC is the per-call overhead of the RPC adapters with a cached
// token (RS256 fixture, verified-token cache on): the interceptor alone
// against calling the handler directly, and whole unary gRPC calls over
// an in-memory connection with and without grpcauth.
func BenchmarkRPC(b *testing.B) {
	f := loadFixtures()[0]
	reg, err := issuer.New(issuer.Options{}, f.config())
	if err != nil {
		b.Fatal(err)
	}
	defer reg.Close()
	handler := func(ctx context.Context, req any) (any, error) {
		if _, ok := tenantjwt.FromContext(ctx); !ok {
			return nil, context.Canceled // the bench would be meaningless
		}
		return req, nil
	}
	bare := func(ctx context.Context, req any) (any, error) { return req, nil }

	// The context a grpc-go server gives a unary interceptor.
	ctx := metadata.NewIncomingContext(context.Background(), metadata.MD{
		":authority": {"bufnet"}, "content-type": {"application/grpc"}, "user-agent": {"grpc-go/1.85.0"},
		"authorization": {"Bearer " + f.token},
	})
	ctx = peer.NewContext(ctx, &peer.Peer{Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}})
	info := &grpc.UnaryServerInfo{FullMethod: rpcMethod}
	unary := grpcauth.New(reg, grpcauth.Config{}).Unary()
	b.Run("interceptor/bare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := bare(ctx, f); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("interceptor/grpcauth-cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := unary(ctx, f, info, handler); err != nil {
				b.Fatal(err)
			}
		}
	})
	cunary := connectauth.New(reg, connectauth.Config{}).WrapUnary(func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if _, ok := tenantjwt.FromContext(ctx); !ok {
			return nil, context.Canceled
		}
		return nil, nil
	})
	creq := connect.NewRequest(wrapperspb.String(""))
	creq.Header().Set("Authorization", "Bearer "+f.token)
	b.Run("interceptor/connectauth-cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cunary(context.Background(), creq); err != nil {
				b.Fatal(err)
			}
		}
	})

	for _, c := range []struct {
		name string
		opts []grpc.ServerOption
	}{
		{"bufconn/bare", nil},
		{"bufconn/grpcauth-cached", grpcauth.New(reg, grpcauth.Config{}).ServerOptions()},
	} {
		b.Run(c.name, func(b *testing.B) {
			conn := echoServer(b, c.opts...)
			out := new(wrapperspb.StringValue)
			in := wrapperspb.String("x")
			ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+f.token)
			b.ReportAllocs()
			for b.Loop() {
				if err := conn.Invoke(ctx, rpcMethod, in, out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// echoServer serves bench.v1.Echo/Call, which returns its request, over
// bufconn.
func echoServer(b *testing.B, opts ...grpc.ServerOption) *grpc.ClientConn {
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(opts...)
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "bench.v1.Echo",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Call", Handler: func(_ any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
			in := new(wrapperspb.StringValue)
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(ctx context.Context, req any) (any, error) { return req, nil }
			if icpt == nil {
				return h(ctx, in)
			}
			return icpt(ctx, in, &grpc.UnaryServerInfo{FullMethod: rpcMethod}, h)
		}}},
	}, struct{}{})
	go srv.Serve(lis)
	b.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return conn
}

// TestRPCSetupsAcceptAndReject proves the benchmarked interceptors accept
// the fixture token and refuse a tampered one, so the benchmark measures
// real verification.
func TestRPCSetupsAcceptAndReject(t *testing.T) {
	f := loadFixtures()[0]
	reg, err := issuer.New(issuer.Options{}, f.config())
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	tampered := f.token[:len(f.token)-4] + "AAAA"
	if tampered == f.token {
		tampered = f.token[:len(f.token)-4] + "BBBB"
	}
	unary := grpcauth.New(reg, grpcauth.Config{}).Unary()
	cunary := connectauth.New(reg, connectauth.Config{}).WrapUnary(func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		return nil, nil
	})
	ok := func(ctx context.Context, req any) (any, error) { return req, nil }
	for _, tc := range []struct {
		tok  string
		want bool
	}{{f.token, true}, {tampered, false}} {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.MD{"authorization": {"Bearer " + tc.tok}})
		if _, err := unary(ctx, f, &grpc.UnaryServerInfo{FullMethod: rpcMethod}, ok); (err == nil) != tc.want {
			t.Errorf("grpcauth, accept %v: err %v", tc.want, err)
		}
		req := connect.NewRequest(wrapperspb.String(""))
		req.Header().Set("Authorization", "Bearer "+tc.tok)
		if _, err := cunary(context.Background(), req); (err == nil) != tc.want {
			t.Errorf("connectauth, accept %v: err %v", tc.want, err)
		}
	}
}
