package connectauth_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/middleware/connectauth"
)

// A Connect handler behind the interceptor, called by a Connect client:
// the handler finds the Principal with tenantjwt.FromContext, and a
// refusal is a *connect.Error with a fixed message and the
// WWW-Authenticate challenge in its metadata.
func ExampleNew() {
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

	const procedure = "/greeter.v1.Greeter/SayHello"
	hello := func(ctx context.Context, req *connect.Request[wrapperspb.StringValue]) (*connect.Response[wrapperspb.StringValue], error) {
		p, _ := tenantjwt.FromContext(ctx)
		return connect.NewResponse(wrapperspb.String("hello " + req.Msg.GetValue() + " from " + p.Subject() + " of " + p.Tenant())), nil
	}
	// README:begin connect
	mux := http.NewServeMux()
	mux.Handle(procedure, connect.NewUnaryHandler(procedure, hello,
		connect.WithInterceptors(connectauth.New(reg, connectauth.Config{}))))
	// Wrap lets the interceptor see TLS client certificates and the URL.
	srv := httptest.NewServer(connectauth.Wrap(mux))
	// README:end connect
	defer srv.Close()

	client := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](srv.Client(), srv.URL+procedure)
	for _, token := range []string{acme.Mint(map[string]any{"sub": "alice"}), ""} {
		req := connect.NewRequest(wrapperspb.String("world"))
		if token != "" {
			req.Header().Set("Authorization", "Bearer "+token)
		}
		resp, err := client.CallUnary(context.Background(), req)
		var ce *connect.Error
		if errors.As(err, &ce) {
			fmt.Println(ce.Code(), ce.Message(), "|", ce.Meta().Get("WWW-Authenticate"))
			continue
		}
		fmt.Println(resp.Msg.GetValue())
	}
	// Output:
	// hello world from alice of acme
	// unauthenticated authentication required | Bearer realm="api"
}
