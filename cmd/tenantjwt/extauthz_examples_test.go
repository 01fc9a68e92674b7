package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/tenantjwt/tenantjwt/issuer"
)

// TestEnvoyExamplesParse checks the shipped Envoy bootstraps against
// Envoy's v3 API (go-control-plane's generated types, unknown fields
// refused, typed_config resolved, the API's validation rules applied):
// Envoy itself is not packaged here, so this is what stands in for
// `envoy --mode validate`. The tenantjwt config of the examples must load.
func TestEnvoyExamplesParse(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "..", "examples", "envoy")
	for _, name := range []string{"envoy-http.yaml", "envoy-grpc.yaml"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			var doc any
			if err := yaml.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			js, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			var b bootstrapv3.Bootstrap
			if err := protojson.Unmarshal(js, &b); err != nil {
				t.Fatalf("not an Envoy v3 bootstrap: %v", err)
			}
			if err := b.ValidateAll(); err != nil {
				t.Fatalf("Envoy's validation rules: %v", err)
			}
			text := protojson.Format(&b)
			for _, want := range []string{"envoy.filters.http.ext_authz", "ServiceUnavailable"} {
				if !strings.Contains(text, want) {
					t.Errorf("bootstrap lacks %s", want)
				}
			}
		})
	}
	t.Run("tenantjwt.yaml", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(dir, "tenantjwt.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var fa forwardAuth
		if _, err := issuer.ParseConfig(data, "", map[string]any{"forward_auth": &fa}); err != nil {
			t.Fatal(err)
		}
		if err := fa.compile(); err != nil {
			t.Fatal(err)
		}
		if fa.GRPCListen == "" {
			t.Error("the example does not set grpc_listen")
		}
	})
}
