package grpcauth_test

import (
	"context"
	"fmt"
	"log"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/middleware/grpcauth"
)

// A grpc-go server behind the interceptors: the handler finds the
// Principal with tenantjwt.FromContext, a per-method guard requires a
// role, and a refusal carries a fixed message and the same
// www-authenticate challenge as the HTTP middleware.
func ExampleNew() {
	// A local fake issuer for tenant acme; in production, the tenants'
	// IdPs in a config file (issuer.LoadFile).
	acme, err := issuertest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer acme.Close()
	cfg := acme.LocalConfig()
	cfg.Tenant = "acme"
	reg, err := issuer.New(issuer.Options{}, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()

	// README:begin grpc
	auth := grpcauth.New(reg, grpcauth.Config{
		Guards: map[string][]grpcauth.Guard{
			"/test.v1.Echo/Admin": {grpcauth.RequireRoles("admin")},
		},
	})
	srv := grpc.NewServer(auth.ServerOptions()...) // unary and stream interceptors
	// README:end grpc
	srv.RegisterService(&echoService, struct{}{}) // Whoami answers "subject|tenant|binding|roles"
	lis := bufconn.Listen(1 << 20)
	go srv.Serve(lis)
	defer srv.Stop()

	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	token := acme.Mint(map[string]any{"sub": "alice", "roles": []string{"viewer"}})
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
	for _, method := range []string{"/test.v1.Echo/Whoami", "/test.v1.Echo/Admin"} {
		var header metadata.MD
		out := new(wrapperspb.StringValue)
		if err := conn.Invoke(ctx, method, wrapperspb.String(""), out, grpc.Header(&header)); err != nil {
			st := status.Convert(err)
			fmt.Printf("%s: %v %q\n  www-authenticate: %s\n", method, st.Code(), st.Message(), header.Get("www-authenticate")[0])
			continue
		}
		fmt.Printf("%s: %s\n", method, out.GetValue())
	}
	// Output:
	// /test.v1.Echo/Whoami: alice|acme||viewer
	// /test.v1.Echo/Admin: PermissionDenied "the access token does not allow this request"
	//   www-authenticate: Bearer realm="api", error="insufficient_scope", error_description="the access token does not allow this request"
}

// A guard checked inside a handler, for decisions that depend on the
// request message.
func ExampleCheck() {
	deleteProject := func(ctx context.Context, project *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
		if err := grpcauth.Check(ctx, grpcauth.RequirePermissions("projects:delete:"+project.GetValue())); err != nil {
			return nil, err // PermissionDenied, with the challenge set
		}
		return wrapperspb.String("deleted"), nil
	}
	p := tenantjwt.NewPrincipal(tenantjwt.Identity{Subject: "alice", Tenant: "acme", Permissions: []string{"projects:delete:7"}})
	ctx := tenantjwt.NewContext(context.Background(), p)
	for _, id := range []string{"7", "8"} {
		out, err := deleteProject(ctx, wrapperspb.String(id))
		fmt.Println(id, out.GetValue(), status.Code(err))
	}
	// Output:
	// 7 deleted OK
	// 8  PermissionDenied
}
