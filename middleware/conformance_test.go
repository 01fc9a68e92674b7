package middleware_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/middleware"
)

// TestConformance runs the attacks of shared/SECURITY-CASES.md end to end
// through the net/http middleware with real JWKS endpoints: each case builds
// its malicious input here, and asserts the status, the exact challenge, that
// the handler was not reached, and how many requests left the process —
// to the trusted issuers' JWKS and to an attacker's listener.
func TestConformance(t *testing.T) {
	var attackerHits atomic.Int64
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attackerHits.Add(1)
	}))
	t.Cleanup(attacker.Close)

	a := issuertest.New(t, issuertest.WithPath("/a"))
	b := issuertest.New(t, issuertest.WithPath("/b"), issuertest.WithAlgorithm("ES256"))
	rogue := issuertest.New(t, issuertest.WithPath("/rogue"))                                          // trusted by no one
	typ := issuertest.New(t, issuertest.WithPath("/typ"))                                              // requires at+jwt
	tpl := issuertest.New(t, issuertest.WithPath("/{tenant}/v2.0"), issuertest.WithAlgorithm("ES256")) // Entra-like template
	ca, cb, ct, cp := a.Config(), b.Config(), typ.Config(), tpl.Config()
	ca.Name, ca.Audiences, ca.Tenant = "a", []string{"api://a"}, "a"
	cb.Name, cb.Audiences, cb.Tenant = "b", []string{"api://a"}, "b"
	ct.Name, ct.Audiences, ct.RequireTyp = "typ", []string{"api://a"}, "at+jwt"
	cp.Name, cp.Audiences, cp.Tenants, cp.TenantClaim = "tpl", []string{"api://a"}, []string{"t1", "t2"}, "tid"
	reg, err := issuer.New(issuer.Options{TokenCacheSize: -1}, ca, cb, ct, cp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	aud := map[string]any{"aud": "api://a"}
	with := func(kv ...any) map[string]any {
		m := map[string]any{"aud": "api://a"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	// Warm the key sets so every case below starts from cached keys.
	for _, tok := range []string{a.Mint(aud), b.Mint(aud), typ.MintWith(map[string]any{"typ": "at+jwt"}, aud),
		tpl.Mint(map[string]any{"iss": tpl.TenantURL("t1"), "tid": "t1", "aud": "api://a"})} {
		if _, err := reg.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	enc := base64.RawURLEncoding.EncodeToString
	good := a.Mint(aud)
	parts := strings.Split(good, ".")
	pubDER, _ := x509.MarshalPKIXPublicKey(a.Signer().Public())
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hs256 := func(secret []byte) string {
		in := a.SigningInput(map[string]any{"alg": "HS256"}, aud)
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(in))
		return in + "." + enc(m.Sum(nil))
	}
	var rogueJWK struct{ Keys []json.RawMessage }
	json.Unmarshal(rogue.JWKS(), &rogueJWK)
	var embedded map[string]any
	json.Unmarshal(rogueJWK.Keys[0], &embedded)

	const invalid = `Bearer realm="api", error="invalid_token", error_description="the access token is not valid"`
	tests := []struct {
		name        string
		token       string
		maxJWKSGets int // extra requests to a's JWKS allowed (unknown-kid refetch)
	}{
		{"01 alg none, empty signature", a.SigningInput(map[string]any{"alg": "none"}, aud) + ".", 0},
		{"01 alg NoNe with the original signature", a.SigningInput(map[string]any{"alg": "NoNe"}, aud) + "." + parts[2], 0},
		{"02 stripped signature", parts[0] + "." + parts[1] + ".", 0},
		{"02 tampered payload", parts[0] + "." + enc([]byte(`{"iss":"`+a.URL()+`","sub":"root","aud":"api://a","exp":9999999999}`)) + "." + parts[2], 0},
		{"03 HS256 keyed with the public key PEM", hs256(pubPEM), 0},
		{"03 HS256 keyed with the public key DER", hs256(pubDER), 0},
		{"04 HS256 with an empty key", hs256(nil), 0},
		{"05 RS512 on an RS256 key", a.MintWith(map[string]any{"alg": "RS512"}, aud), 0},
		{"05 rs256 spelled in lower case", a.MintWith(map[string]any{"alg": "rs256"}, aud), 0},
		{"06 ECDSA r=s=0", b.Mint(aud)[:strings.LastIndexByte(b.Mint(aud), '.')+1] + enc(make([]byte, 64)), 0},
		{"07 JWE with five segments", enc([]byte(`{"alg":"RSA-OAEP","enc":"A256GCM"}`)) + ".a.b.c.d", 0},
		{"08 unknown crit", a.MintWith(map[string]any{"crit": []string{"exp"}, "exp": 1}, aud), 0},
		{"08 b64 false", a.MintWith(map[string]any{"b64": false, "crit": []string{"b64"}}, aud), 0},
		{"09 embedded jwk of the attacker", rogue.MintWith(map[string]any{"jwk": embedded}, with("iss", a.URL())), 1},
		{"09 jku to the attacker", rogue.MintWith(map[string]any{"jku": attacker.URL + "/jwks"}, with("iss", a.URL())), 1},
		{"09 x5u to the attacker", rogue.MintWith(map[string]any{"x5u": attacker.URL + "/cert"}, with("iss", a.URL())), 1},
		{"10 kid path traversal", a.MintWith(map[string]any{"kid": "../../../../etc/passwd"}, aud), 1},
		{"10 kid with CRLF", a.MintWith(map[string]any{"kid": "k\r\nX-Injected: 1"}, aud), 1},
		{"10 kid of 64 KiB", a.MintWith(map[string]any{"kid": strings.Repeat("k", 64<<10)}, aud), 1},
		{"11 unknown kid", a.MintWith(map[string]any{"kid": "no-such-key"}, aud), 1},
		{"11 no kid while the issuer has several keys", func() string { a.Rotate(); return a.MintWith(map[string]any{"kid": nil}, aud) }(), 1},
		{"13 expired", a.Mint(with("exp", time.Now().Add(-time.Hour).Unix())), 0},
		{"13 exp missing", a.Mint(with("exp", nil)), 0},
		{"14 other audience", a.Mint(with("aud", "api://other")), 0},
		{"15 ID token (typ JWT) where at+jwt is required", typ.Mint(aud), 0},
		{"15 logout token", typ.MintWith(map[string]any{"typ": "logout+jwt"}, aud), 0},
		{"16 roles as a string", a.Mint(with("roles", "admin")), 0},
		{"18 iss of a, signed with b's key", b.Mint(with("iss", a.URL())), 1},
		{"22 template tenant not in the allowlist", tpl.Mint(map[string]any{"iss": tpl.TenantURL("t3"), "tid": "t3", "aud": "api://a"}), 0},
		{"22 iss of t1 with tid t3", tpl.Mint(map[string]any{"iss": tpl.TenantURL("t1"), "tid": "t3", "aud": "api://a"}), 0},
		{"19 iss is the attacker's URL", a.Mint(with("iss", attacker.URL)), 0},
		{"19 iss is the cloud metadata address", a.Mint(with("iss", "http://169.254.169.254/latest/meta-data/")), 0},
		{"19 iss is a file URL", a.Mint(with("iss", "file:///etc/passwd")), 0},
		{"19 iss of 10 KB", a.Mint(with("iss", strings.Repeat("x", 10<<10))), 0},
		{"20 no iss", a.Mint(with("iss", nil)), 0},
		{"24 two segments", "a.b", 0},
		{"24 four segments", "a.b.c.d", 0},
		{"24 empty segments", "..", 0},
		{"26 payload is an array", parts[0] + "." + enc([]byte(`[]`)) + "." + parts[2], 0},
		{"26 header is a string", enc([]byte(`"x"`)) + "." + parts[1] + "." + parts[2], 0},
		{"36 duplicate iss member", parts[0] + "." + enc([]byte(`{"iss":"`+attacker.URL+`","iss":"`+a.URL()+`","aud":"api://a","exp":9999999999}`)) + "." + parts[2], 0},
		{"37 token with a trailing NUL in iss", a.Mint(with("iss", a.URL()+"\x00")), 0},
		{"38 iss differing only in case", a.Mint(with("iss", strings.ToUpper(a.URL()))), 0},
		{"39 iss with an extra trailing slash", a.Mint(with("iss", a.URL()+"/")), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			beforeA, beforeB := a.JWKSRequests(), b.JWKSRequests()
			beforeRogue, beforeAttacker := rogue.JWKSRequests(), attackerHits.Load()
			reached := false
			h := middleware.New(reg, middleware.Config{})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+tt.token)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != 401 || reached {
				t.Fatalf("status %d, reached %v; want 401 and not reached", rec.Code, reached)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != invalid {
				t.Errorf("WWW-Authenticate = %q", got)
			}
			if strings.Contains(rec.Body.String(), tt.token[:min(len(tt.token), 12)]) {
				t.Errorf("body echoes the token: %s", rec.Body)
			}
			if n := attackerHits.Load() - beforeAttacker + int64(rogue.JWKSRequests()-beforeRogue); n != 0 {
				t.Errorf("%d requests reached the attacker", n)
			}
			if n := a.JWKSRequests() - beforeA; n > tt.maxJWKSGets {
				t.Errorf("%d requests to a's JWKS, want at most %d", n, tt.maxJWKSGets)
			}
			if n := b.JWKSRequests() - beforeB; n != 0 {
				t.Errorf("%d requests to b's JWKS, want 0", n)
			}
		})
	}
	t.Run("21 tenant comes from the issuer's config, not from an unbound claim", func(t *testing.T) {
		var got *tenantjwt.Principal
		h := middleware.New(reg, middleware.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, _ = tenantjwt.FromContext(r.Context())
		}))
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+b.Mint(with("tenant", "a", "org_id", "a", "tid", "a", "dct", "a")))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != 200 || got == nil || got.Tenant() != "b" {
			t.Fatalf("status %d, principal %+v; want 200 with tenant b", rec.Code, got)
		}
	})
	t.Run("12 keys not for signatures are never used", func(t *testing.T) {
		// The issuer's JWKS publishes its real key twice more: marked
		// use=enc, and with key_ops [encrypt]; plus a symmetric key.
		mixed := issuertest.New(t, issuertest.WithPath("/mixed"))
		var set struct{ Keys []map[string]any }
		json.Unmarshal(mixed.JWKS(), &set)
		encKey, ops := map[string]any{}, map[string]any{}
		for k, v := range set.Keys[0] {
			encKey[k], ops[k] = v, v
		}
		encKey["kid"], encKey["use"] = "enc-key", "enc"
		ops["kid"], ops["key_ops"] = "ops-key", []string{"encrypt"}
		delete(ops, "use")
		oct := map[string]any{"kty": "oct", "kid": "oct-key", "k": enc(pubPEM)}
		set.Keys = append(set.Keys, encKey, ops, oct)
		body, _ := json.Marshal(set)
		mixed.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
		mc := mixed.Config()
		mc.Name, mc.Algorithms = "mixed", []string{"RS256"}
		if err := reg.Add(mc); err != nil {
			t.Fatal(err)
		}
		defer reg.Remove("mixed")
		h := middleware.New(reg, middleware.Config{})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("handler reached") }))
		for _, kid := range []string{"enc-key", "ops-key", "oct-key"} {
			header := map[string]any{"kid": kid}
			if kid == "oct-key" {
				header["alg"] = "HS256"
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+mixed.MintWith(header, nil))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != invalid {
				t.Errorf("kid %s: status %d %q, want 401 invalid_token", kid, rec.Code, rec.Header().Get("WWW-Authenticate"))
			}
		}
		// The real key, under its own kid, still verifies.
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+mixed.Mint(nil))
		rec := httptest.NewRecorder()
		middleware.New(reg, middleware.Config{})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(rec, r)
		if rec.Code != 200 {
			t.Errorf("genuine key: status %d, want 200", rec.Code)
		}
	})
	t.Run("28 a flood of random kids costs at most one fetch", func(t *testing.T) {
		before := b.JWKSRequests()
		h := middleware.New(reg, middleware.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		var wg sync.WaitGroup
		var refused, passed atomic.Int64
		for i := range 1000 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tok := b.Mint(aud)
				if i%2 == 0 {
					tok = b.MintWith(map[string]any{"kid": fmt.Sprintf("random-%d", i)}, aud)
				}
				r := httptest.NewRequest("GET", "/", nil)
				r.Header.Set("Authorization", "Bearer "+tok)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				switch {
				case rec.Code == 200 && i%2 == 1:
					passed.Add(1)
				case rec.Code == 401 && i%2 == 0:
					refused.Add(1)
				}
			}()
		}
		wg.Wait()
		if passed.Load() != 500 || refused.Load() != 500 {
			t.Errorf("valid passed %d/500, random kids refused %d/500", passed.Load(), refused.Load())
		}
		if n := b.JWKSRequests() - before; n > 1 {
			t.Errorf("%d JWKS requests for 500 random kids, want at most 1", n)
		}
	})
	t.Run("29 a hanging JWKS answers 503 within the fetch timeout, others unaffected", func(t *testing.T) {
		slow := issuertest.New(t, issuertest.WithPath("/slow"))
		release := make(chan struct{})
		defer close(release)
		slow.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		// The hanging issuer's own fetch bound; the healthy one keeps the
		// default, so a busy machine cannot make its fetch time out too.
		hanging := slow.Config()
		hanging.Timeout = 50 * time.Millisecond
		sreg, err := issuer.New(issuer.Options{}, hanging, a.Config())
		if err != nil {
			t.Fatal(err)
		}
		defer sreg.Close()
		h := middleware.New(sreg, middleware.Config{})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		serve := func(tok string) int {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			return rec.Code
		}
		if got := serve(slow.Mint(nil)); got != http.StatusServiceUnavailable {
			t.Errorf("token of the hanging issuer: %d, want 503", got)
		}
		if got := serve(a.Mint(nil)); got != 200 {
			t.Errorf("token of a healthy issuer: %d, want 200", got)
		}
	})
}
