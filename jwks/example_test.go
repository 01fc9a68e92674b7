package jwks_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/tenantjwt/tenantjwt/jwks"
)

// Fetch an issuer's keys from its JWKS URL and look one up by kid.
func ExampleCache_Remote() {
	// A stand-in for an IdP's JWKS endpoint.
	body := doc(nil, jwkOf(nil, &p256.PublicKey, map[string]any{"kid": "2026-01", "alg": "ES256"}))
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Write(body)
	}))
	defer idp.Close()

	cache := jwks.NewCache(jwks.Options{})
	defer cache.Close()
	src, err := cache.Remote(idp.URL+"/.well-known/jwks.json", jwks.RemoteOptions{Label: "acme"})
	if err != nil {
		fmt.Println(err)
		return
	}
	key, err := src.Lookup(context.Background(), "2026-01")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(key.ID, key.Algorithm, key.Allows("ES256"), key.Allows("RS256"))
	// Output: 2026-01 ES256 true false
}
