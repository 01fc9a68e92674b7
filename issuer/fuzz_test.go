package issuer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/dpop"
	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
)

// FuzzVerify feeds arbitrary strings to Verify: it must never panic, and
// every failure must be a token rejection (the keys are in process, so
// ErrKeysUnavailable cannot happen).
func FuzzVerify(f *testing.F) {
	iss, err := issuertest.NewServer(issuertest.WithPath("/f"), issuertest.WithClock(func() time.Time { return t0 }))
	if err != nil {
		f.Fatal(err)
	}
	defer iss.Close()
	tpl, err := issuertest.NewServer(issuertest.WithPath("/{tenant}/v2"), issuertest.WithAlgorithm("ES256"), issuertest.WithClock(func() time.Time { return t0 }))
	if err != nil {
		f.Fatal(err)
	}
	defer tpl.Close()
	c := iss.LocalConfig()
	c.Claims = issuer.ClaimMapping{Tenant: "dct", Tenants: "tenants", Roles: "tenants.{tenant}.roles"}
	tc := tpl.LocalConfig()
	tc.Tenants, tc.TenantClaim = []string{"t1"}, "tid"
	reg, err := issuer.New(issuer.Options{Now: func() time.Time { return t0 }}, c, tc)
	if err != nil {
		f.Fatal(err)
	}
	defer reg.Close()

	f.Add(iss.Mint(nil))
	f.Add(iss.Mint(map[string]any{"dct": "a", "tenants": map[string]any{"a": map[string]any{"roles": []string{"x"}}}}))
	f.Add(tpl.Mint(map[string]any{"iss": tpl.TenantURL("t1"), "tid": "t1"}))
	f.Add(iss.MintWith(map[string]any{"alg": "none"}, nil))
	f.Add(iss.MintWith(map[string]any{"crit": []string{"x"}}, nil))
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := reg.Verify(context.Background(), tok)
		if err == nil {
			if p == nil || p.IssuerURL() == "" {
				t.Fatalf("accepted with principal %+v", p)
			}
			return
		}
		if !errors.Is(err, tenantjwt.ErrInvalidToken) {
			t.Fatalf("error outside ErrInvalidToken: %v", err)
		}
		if p != nil {
			t.Fatalf("principal with error")
		}
		if _, err2 := reg.Verify(context.Background(), tok); err2 == nil {
			t.Fatalf("second Verify accepted a rejected token")
		}
	})
}

// FuzzParseConfig: ParseConfig must never panic, and what it accepts must
// build a registry (the static key source aside).
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("issuers:\n  - issuer: https://a.example/\n    jwks_uri: https://a.example/jwks\n"))
	f.Add([]byte(`{"issuers":[{"issuer":"https://x.example/{tenant}/v2","jwks_uri":"https://x.example/k","tenants":["a"],"tenant_claim":"tid"}]}`))
	f.Add([]byte("leeway: 1s\nissuers: [{issuer: \"${HOME}\", discovery: true}]\n"))
	f.Add([]byte("issuers:\n  - issuer: https://a.example/\n    jwks_uri: https://a.example/jwks\n    claims: {roles: '\"a.b\".{tenant}'}\n"))
	f.Add([]byte("&a [*a, *a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		type result struct {
			file *issuer.File
			err  error
		}
		done := make(chan result, 1)
		go func() {
			file, err := issuer.ParseConfig(data, "", nil)
			done <- result{file, err}
		}()
		var res result
		select {
		case res = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("ParseConfig did not return within 10s on %q", data)
		}
		file, err := res.file, res.err
		if err != nil {
			if strings.Contains(err.Error(), "panic") {
				t.Fatalf("err = %v", err)
			}
			return
		}
		for i, c := range file.Issuers {
			if err := c.Validate(); err != nil {
				t.Fatalf("issuer %d accepted by ParseConfig but not by Validate: %v", i, err)
			}
		}
	})
}

// FuzzDPoPProof feeds arbitrary DPoP proof headers, methods and URLs with a
// genuine bound token: it must never panic, and nothing but a genuine proof
// for that request may pass, each only once.
func FuzzDPoPProof(f *testing.F) {
	iss, err := issuertest.NewServer(issuertest.WithPath("/d"), issuertest.WithClock(func() time.Time { return t0 }))
	if err != nil {
		f.Fatal(err)
	}
	defer iss.Close()
	client, err := issuertest.NewDPoPClient("ES256", func() time.Time { return t0 })
	if err != nil {
		f.Fatal(err)
	}
	reg, err := issuer.New(issuer.Options{Now: func() time.Time { return t0 }}, iss.LocalConfig())
	if err != nil {
		f.Fatal(err)
	}
	defer reg.Close()
	tok := iss.Mint(map[string]any{"cnf": client.Confirmation()})
	const url = "https://api.example.com/r"
	f.Add(client.Proof("GET", url, tok), "GET", url)
	f.Add(client.ProofWith("GET", url, tok, map[string]any{"alg": "none"}, nil), "GET", url)
	f.Add(client.Proof("POST", url+"/../r?q", tok), "POST", "https://API.example.com:443/r")
	f.Add("a.b.c", "GET", "https://x/")
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, proof, method, u string) {
		pr := tenantjwt.Presentation{Scheme: "DPoP", DPoP: proof, Method: method, URL: u}
		p, err := reg.VerifyPresented(context.Background(), tok, pr)
		if err != nil {
			if !errors.Is(err, tenantjwt.ErrDPoPProof) || p != nil {
				t.Fatalf("err = %v, principal %v", err, p)
			}
			return
		}
		if p.Binding() != tenantjwt.BindingDPoP {
			t.Fatalf("accepted with binding %q", p.Binding())
		}
		if _, err := reg.VerifyPresented(context.Background(), tok, pr); err == nil {
			t.Fatal("the same proof was accepted twice")
		}
	})
}

// FuzzDPoPProofClaims signs proofs with the bound key over fuzzed htm, htu,
// iat (raw JSON) and jti, so the checks after the signature are reached:
// a proof may be accepted only if every claim is right, as computed here
// independently.
func FuzzDPoPProofClaims(f *testing.F) {
	iss, err := issuertest.NewServer(issuertest.WithPath("/d"), issuertest.WithClock(func() time.Time { return t0 }))
	if err != nil {
		f.Fatal(err)
	}
	defer iss.Close()
	client, err := issuertest.NewDPoPClient("EdDSA", func() time.Time { return t0 })
	if err != nil {
		f.Fatal(err)
	}
	reg, err := issuer.New(issuer.Options{Now: func() time.Time { return t0 }, Leeway: 5 * time.Second}, iss.LocalConfig())
	if err != nil {
		f.Fatal(err)
	}
	defer reg.Close()
	tok := iss.Mint(map[string]any{"cnf": client.Confirmation()})
	const url = "https://api.example.com/r"
	f.Add("GET", url, fmt.Sprint(t0.Unix()), "j1")
	f.Add("GET", "HTTPS://API.example.com:443/./r?q#f", fmt.Sprint(t0.Unix()-30), "j2")
	f.Add("GET", url, "1e300", "j3")
	f.Add("GET", url, "99999999999", "j5") // year 5138: overflowed int64 nanoseconds once
	f.Add("GET", url, fmt.Sprint(t0.Unix()+6), "j4")
	f.Add("POST", url+"/", "\"1\"", "")
	f.Fuzz(func(t *testing.T, htm, htu, iat, jti string) {
		if !json.Valid([]byte(iat)) {
			t.Skip()
		}
		proof := client.ProofWith("GET", url, tok, nil, map[string]any{"htm": htm, "htu": htu, "iat": json.RawMessage(iat), "jti": jti})
		pr := tenantjwt.Presentation{Scheme: "DPoP", DPoP: proof, Method: "GET", URL: url}
		_, err := reg.VerifyPresented(context.Background(), tok, pr)
		if err != nil {
			if !errors.Is(err, tenantjwt.ErrDPoPProof) {
				t.Fatalf("err = %v", err)
			}
			return
		}
		sec, perr := strconv.ParseFloat(iat, 64)
		window := !math.IsNaN(sec) && sec >= float64(t0.Unix()-65) && sec <= float64(t0.Unix()+5)
		got, nerr := dpop.NormalizeHTU(htu)
		if htm != "GET" || nerr != nil || got != url || perr != nil || !window || jti == "" {
			t.Fatalf("accepted htm %q htu %q iat %s jti %q", htm, htu, iat, jti)
		}
	})
}
