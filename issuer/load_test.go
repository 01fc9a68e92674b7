package issuer_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt/issuer"
)

func TestParseConfigYAMLAndJSON(t *testing.T) {
	t.Setenv("TJ_AUD", "https://api.example.com")
	t.Setenv("TJ_PREFETCH", "true")
	yamlDoc := `
leeway: 45s
max_token_bytes: 8192
token_cache: {size: 500}
dpop_proofs: {max_age: 30s, algorithms: [ES256, EdDSA], replay_cache_size: 10}
issuers:
  - name: acme
    issuer: https://acme.us.auth0.com/
    jwks_uri: https://acme.us.auth0.com/.well-known/jwks.json
    audiences: ["${TJ_AUD}"]
    algorithms: [RS256]
    tenant: acme
    claims:
      roles: "https://example.com/roles"
      scopes: scope
    require_typ: at+jwt
    max_lifetime: 24h
    prefetch: ${TJ_PREFETCH}
    dpop: required
    mtls: disabled
  - issuer: https://login.microsoftonline.com/{tenant}/v2.0
    jwks_uri: https://login.microsoftonline.com/common/discovery/v2.0/keys
    audiences: [api://tenantjwt]
    tenants: [t1, t2]
    tenant_claim: tid
    aliases: ["price: $$5"]
`
	jsonDoc := `{"leeway":"45s","max_token_bytes":8192,"token_cache":{"size":500},
 "dpop_proofs":{"max_age":"30s","algorithms":["ES256","EdDSA"],"replay_cache_size":10},"issuers":[
 {"name":"acme","issuer":"https://acme.us.auth0.com/","jwks_uri":"https://acme.us.auth0.com/.well-known/jwks.json",
  "audiences":["${TJ_AUD}"],"algorithms":["RS256"],"tenant":"acme",
  "claims":{"roles":"https://example.com/roles","scopes":"scope"},"require_typ":"at+jwt","max_lifetime":"24h","prefetch":true,"dpop":"required","mtls":"disabled"},
 {"issuer":"https://login.microsoftonline.com/{tenant}/v2.0","jwks_uri":"https://login.microsoftonline.com/common/discovery/v2.0/keys",
  "audiences":["api://tenantjwt"],"tenants":["t1","t2"],"tenant_claim":"tid","aliases":["price: $$5"]}]}`
	for name, doc := range map[string]string{"yaml": yamlDoc, "json": jsonDoc} {
		t.Run(name, func(t *testing.T) {
			f, err := issuer.ParseConfig([]byte(doc), "", nil)
			if err != nil {
				t.Fatalf("ParseConfig: %v", err)
			}
			if f.Leeway != 45*time.Second || f.MaxTokenBytes != 8192 || f.TokenCache.Size == nil || *f.TokenCache.Size != 500 {
				t.Errorf("top level = %+v", f)
			}
			if len(f.Issuers) != 2 {
				t.Fatalf("%d issuers, want 2", len(f.Issuers))
			}
			a := f.Issuers[0]
			if !slices.Equal(a.Audiences, []string{"https://api.example.com"}) {
				t.Errorf("audiences = %v (env not expanded?)", a.Audiences)
			}
			if a.MaxLifetime != 24*time.Hour || !a.Prefetch || a.RequireTyp != "at+jwt" || a.Claims.Roles != "https://example.com/roles" ||
				a.DPoP != issuer.BindingRequired || a.MTLS != issuer.BindingDisabled {
				t.Errorf("issuer 0 = %+v", a)
			}
			if got := f.Issuers[1].Aliases; !slices.Equal(got, []string{"price: $5"}) {
				t.Errorf("aliases = %q, want $$ unescaped", got)
			}
			opts := issuer.FileOptions(f, issuer.Options{})
			if opts.Leeway != 45*time.Second || opts.MaxTokenBytes != 8192 || opts.TokenCacheSize != 500 {
				t.Errorf("Options = %+v", opts)
			}
			if d := opts.DPoP; d.MaxAge != 30*time.Second || !slices.Equal(d.Algorithms, []string{"ES256", "EdDSA"}) || d.ReplayCacheSize != 10 {
				t.Errorf("Options.DPoP = %+v", d)
			}
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	t.Setenv("TJ_SET", "x")
	const src = "    jwks_uri: https://a.example/jwks\n    audiences: [https://api.example]\n"
	entry := func(extra string) string {
		return "issuers:\n  - name: ok\n    issuer: https://ok.example/\n" + src +
			"  - name: acme\n    issuer: https://acme.example/\n" + extra
	}
	tests := []struct {
		name string
		doc  string
		want []string // substrings of the error
	}{
		{"unknown top-level key", "issuerz: []\n", []string{"issuerz"}},
		{"typo in entry", entry(src + "    audience: [x]\n"), []string{"audience"}},
		{"undefined env var", entry(src + "    audiences: [\"${TJ_UNSET_VAR}\"]\n"), []string{"TJ_UNSET_VAR", "not set"}},
		{"no issuers", "leeway: 1s\n", []string{"issuers"}},
		{"unknown algorithm", entry(src + "    algorithms: [HS256]\n"), []string{"issuer[1] (acme)", "algorithms", `"HS256"`}},
		{"algorithm wrong case", entry(src + "    algorithms: [rs256]\n"), []string{"issuer[1] (acme)", "algorithms"}},
		{"no key source", entry(""), []string{"issuer[1] (acme)", "jwks_uri", "no key source"}},
		{"two key sources", entry(src + "    discovery: true\n"), []string{"issuer[1] (acme)", "more than one key source"}},
		{"duplicate issuer", "issuers:\n  - name: a\n    issuer: https://x.example/\n" + src + "  - name: b\n    issuer: https://x.example/\n" + src, []string{"issuer[1] (b)", "issuer", "already trusted by a"}},
		{"alias duplicates issuer", entry(src + "    aliases: [\"https://ok.example/\"]\n"), []string{"issuer[1] (acme)", "aliases[0]", "already trusted by ok"}},
		{"duplicate name", "issuers:\n  - name: a\n    issuer: https://x.example/\n" + src + "  - name: a\n    issuer: https://y.example/\n" + src, []string{"issuer[1] (a)", "name"}},
		{"two placeholders", "issuers:\n  - name: t\n    issuer: https://x.example/{tenant}/{tenant}\n" + src + "    all_tenants: true\n    tenant_claim: tid\n", []string{"issuer[0] (t)", "more than one"}},
		{"placeholder in host", "issuers:\n  - name: t\n    issuer: https://{tenant}.example/\n" + src + "    all_tenants: true\n    tenant_claim: tid\n", []string{"issuer[0] (t)", "whole path segment"}},
		{"placeholder part of a segment", "issuers:\n  - name: t\n    issuer: https://x.example/t-{tenant}/v2\n" + src + "    all_tenants: true\n    tenant_claim: tid\n", []string{"issuer[0] (t)", "whole path segment"}},
		{"other placeholder", "issuers:\n  - name: t\n    issuer: https://x.example/{tid}/v2\n" + src, []string{"issuer[0] (t)", "placeholder"}},
		{"template without tenants", "issuers:\n  - name: t\n    issuer: https://x.example/{tenant}/v2\n" + src + "    tenant_claim: tid\n", []string{"issuer[0] (t)", "tenants"}},
		{"template without tenant_claim", "issuers:\n  - name: t\n    issuer: https://x.example/{tenant}/v2\n" + src + "    tenants: [a]\n", []string{"issuer[0] (t)", "tenant_claim"}},
		{"template with discovery", "issuers:\n  - name: t\n    issuer: https://x.example/{tenant}/v2\n    discovery: true\n    tenants: [a]\n    tenant_claim: tid\n", []string{"issuer[0] (t)", "discovery"}},
		{"tenant and tenants", entry(src + "    tenant: a\n    tenants: [a]\n"), []string{"issuer[1] (acme)", "tenants"}},
		{"tenants on exact issuer", entry(src + "    tenants: [a]\n"), []string{"issuer[1] (acme)", "tenants", "template"}},
		{"all_tenants on exact issuer", entry(src + "    all_tenants: true\n"), []string{"issuer[1] (acme)", "all_tenants"}},
		{"unknown preset", entry(src + "    preset: nosuchidp\n"), []string{"issuer[1] (acme)", "preset", "nosuchidp"}},
		{"bad claim path", entry(src + "    claims: {roles: \"a..b\"}\n"), []string{"issuer[1] (acme)", "claims.roles"}},
		{"tenant placeholder in subject", entry(src + "    claims: {subject: \"x.{tenant}\"}\n"), []string{"issuer[1] (acme)", "claims.subject"}},
		{"http jwks_uri", entry("    jwks_uri: http://keys.example/jwks\n"), []string{"issuer[1] (acme)", "jwks_uri", "http"}},
		{"ftp jwks_uri", entry("    jwks_uri: ftp://keys.example/jwks\n"), []string{"issuer[1] (acme)", "jwks_uri", "https"}},
		{"negative max_lifetime", entry(src + "    max_lifetime: -1h\n"), []string{"issuer[1] (acme)", "max_lifetime"}},
		{"bad duration", entry(src + "    max_lifetime: forever\n"), []string{"forever"}},
		{"negative cache size", "token_cache: {size: -1}\n" + entry(src), []string{"token_cache.size"}},
		{"dpop mode typo", entry(src + "    dpop: on\n"), []string{"issuer[1] (acme)", "dpop"}},
		{"mtls mode in capitals", entry(src + "    mtls: Required\n"), []string{"issuer[1] (acme)", "mtls"}},
		{"dpop proof algorithm none", "dpop_proofs: {algorithms: [ES256, none]}\n" + entry(src), []string{"dpop_proofs.algorithms[1]", `"none"`}},
		{"dpop proof max_age over 1h", "dpop_proofs: {max_age: 2h}\n" + entry(src), []string{"dpop_proofs.max_age"}},
		{"negative replay cache size", "dpop_proofs: {replay_cache_size: -1}\n" + entry(src), []string{"dpop_proofs.replay_cache_size"}},
		{"missing issuer", "issuers:\n  - name: x\n" + src, []string{"issuer[0] (x)", "issuer: required"}},
		{"no audiences", entry("    jwks_uri: https://a.example/jwks\n"), []string{"issuer[1] (acme)", "audiences", "allow_any_audience: true"}},
		{"empty audiences", entry("    jwks_uri: https://a.example/jwks\n    audiences: []\n"), []string{"issuer[1] (acme)", "audiences"}},
		{"all_tenants without audiences", "issuers:\n  - name: t\n    issuer: https://x.example/{tenant}/v2\n    jwks_uri: https://a.example/jwks\n    all_tenants: true\n    tenant_claim: tid\n    allow_any_audience: true\n", []string{"issuer[0] (t)", "audiences", "all_tenants"}},
		{"allow_any_audience with audiences", entry(src + "    allow_any_audience: true\n"), []string{"issuer[1] (acme)", "allow_any_audience"}},
		{"top level list", "- a\n", []string{"mapping"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := issuer.ParseConfig([]byte(tt.doc), "", nil)
			if err == nil {
				t.Fatalf("ParseConfig: nil error, want one containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestEnvValueIsData(t *testing.T) {
	// A value that looks like YAML structure must stay one string.
	t.Setenv("TJ_EVIL", "x\n    algorithms: [HS256]")
	doc := "issuers:\n  - issuer: https://a.example/\n    jwks_uri: https://a.example/jwks\n    audiences: [\"${TJ_EVIL}\"]\n"
	f, err := issuer.ParseConfig([]byte(doc), "", nil)
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	if got := f.Issuers[0].Audiences; len(got) != 1 || got[0] != "x\n    algorithms: [HS256]" {
		t.Errorf("audiences = %q", got)
	}
	if len(f.Issuers[0].Algorithms) != 0 {
		t.Errorf("algorithms = %v, want none", f.Issuers[0].Algorithms)
	}
}

func TestLoadFileResolvesJWKSFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := "issuers:\n  - issuer: https://a.example/\n    jwks_file: keys/a.json\n    allow_any_audience: true\n" +
		"  - issuer: https://b.example/\n    ca_file: ca/b.pem\n    jwks_uri: https://b.example/jwks\n    allow_any_audience: true\n" +
		"  - issuer: https://c.example/\n    jwks_file: /etc/c.json\n    allow_any_audience: true\n"
	path := filepath.Join(dir, "tenantjwt.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := issuer.LoadFile(path)
	if err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	if got, want := f.Issuers[0].JWKSFile, filepath.Join(dir, "keys", "a.json"); got != want {
		t.Errorf("jwks_file = %q, want %q", got, want)
	}
	if got, want := f.Issuers[1].CAFile, filepath.Join(dir, "ca", "b.pem"); got != want {
		t.Errorf("ca_file = %q, want %q", got, want)
	}
	if got := f.Issuers[2].JWKSFile; got != "/etc/c.json" {
		t.Errorf("absolute jwks_file = %q, want it kept", got)
	}
	// ParseConfig does the same with the folder it is given, and nothing
	// without one.
	for _, tt := range []struct{ dir, want string }{{"/srv/conf", "/srv/conf/keys/a.json"}, {"", "keys/a.json"}} {
		f, err := issuer.ParseConfig([]byte(cfg), tt.dir, nil)
		if err != nil {
			t.Fatalf("ParseConfig: %v", err)
		}
		if got := f.Issuers[0].JWKSFile; got != tt.want {
			t.Errorf("ParseConfig(dir %q): jwks_file = %q, want %q", tt.dir, got, tt.want)
		}
	}
	if _, err := issuer.LoadFile(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Errorf("LoadFile(missing): nil error")
	}
}

// TestParseConfigSections: sections of the caller's are decoded strictly
// into its values, and refused when not asked for.
func TestParseConfigSections(t *testing.T) {
	t.Parallel()
	var fa struct {
		Realm string `yaml:"realm"`
	}
	doc := "forward_auth: {realm: api}\nissuers:\n  - issuer: https://a.example/\n    jwks_uri: https://a.example/jwks\n    audiences: [https://api.example]\n"
	if _, err := issuer.ParseConfig([]byte(doc), "", map[string]any{"forward_auth": &fa}); err != nil {
		t.Fatalf("ParseConfig with sections: %v", err)
	}
	if fa.Realm != "api" {
		t.Errorf("realm = %q, want api", fa.Realm)
	}
	if _, err := issuer.ParseConfig([]byte(doc), "", nil); err == nil {
		t.Errorf("ParseConfig accepted forward_auth without the section")
	}
	bad := "forward_auth: {realmz: api}\n" + doc[len("forward_auth: {realm: api}\n"):]
	if _, err := issuer.ParseConfig([]byte(bad), "", map[string]any{"forward_auth": &fa}); err == nil || !strings.Contains(err.Error(), "realmz") {
		t.Errorf("typo in extension: err = %v", err)
	}
}

func TestNewFromFileKeyFileErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file string
		want       []string
	}{
		{"missing file", "nope.json", []string{"issuer[0] (k)", "jwks_file"}},
		{"only a symmetric key", "bad.json", []string{"issuer[0] (k)", "jwks_file", "no usable keys"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := "issuers:\n  - name: k\n    issuer: https://k.example/\n    audiences: [https://api.example]\n    jwks_file: " + tt.file + "\n"
			path := filepath.Join(dir, "c.yaml")
			if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := issuer.LoadFile(path)
			if err != nil {
				t.Fatalf("LoadFile: %v", err)
			}
			_, err = issuer.NewFromFile(f, issuer.Options{})
			if err == nil {
				t.Fatal("NewFromFile: nil error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestConfigErrorsNameTheFileLine: a strict-decoding error names the line
// of the file, not of the re-encoded section.
func TestConfigErrorsNameTheFileLine(t *testing.T) {
	t.Parallel()
	data := []byte("# comment\n\nleeway: 30s\nissuers:\n  - name: x\n    issuer: https://x.example/\n    algoritms: [RS256]\n")
	_, err := issuer.ParseConfig(data, "", nil)
	if err == nil || !strings.Contains(err.Error(), "line 7: field algoritms not found") {
		t.Fatalf("err = %v, want it to name line 7", err)
	}
	var section struct {
		Known string `yaml:"known"`
	}
	_, err = issuer.ParseConfig([]byte("issuers: []\n\nextra:\n  known: a\n  unknown: b\n"), "", map[string]any{"extra": &section})
	if err == nil || !strings.Contains(err.Error(), "line 5: field unknown not found") {
		t.Fatalf("err = %v, want it to name line 5", err)
	}
}

// TestDPoPProofsStore: dpop_proofs.store takes a redis:// or rediss:// URL,
// with the password from the environment; any other form is refused with
// an error that does not repeat the URL, which may hold a password.
func TestDPoPProofsStore(t *testing.T) {
	const entry = "issuers:\n  - issuer: https://a.example/\n    jwks_uri: https://a.example/jwks\n    allow_any_audience: true\n"
	t.Setenv("TJ_REDIS_PASSWORD", "s3cret")
	f, err := issuer.ParseConfig([]byte("dpop_proofs:\n  store: rediss://:${TJ_REDIS_PASSWORD}@redis.internal:6380/2\n"+entry), "", nil)
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	if got := f.DPoPProofs.Store; got != "rediss://:s3cret@redis.internal:6380/2" {
		t.Errorf("store = %q", got)
	}
	for _, bad := range []string{
		"unix://:s3cret@/run/redis.sock",
		"http://:s3cret@redis.internal:6379/0",
		"redis-sentinel://:s3cret@redis.internal:26379",
		"redis://:s3cret@/0",
		"redis:s3cret",
		"REDIS://:s3cret@redis.internal:6379",
	} {
		_, err := issuer.ParseConfig([]byte("dpop_proofs:\n  store: "+bad+"\n"+entry), "", nil)
		if err == nil || !strings.Contains(err.Error(), "dpop_proofs.store") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("store %q: error %v, want one naming dpop_proofs.store without the password", bad, err)
		}
	}
}

// TestConfigSizeCap: a config document over MaxConfigBytes is refused,
// read from a file or given as bytes; one of exactly MaxConfigBytes is
// parsed.
func TestConfigSizeCap(t *testing.T) {
	t.Parallel()
	base := "issuers:\n  - issuer: https://a.example/\n    jwks_uri: https://a.example/jwks\n    allow_any_audience: true\n"
	pad := func(n int) []byte { // YAML comment lines up to n bytes
		b := []byte(base)
		for len(b) < n {
			line := "#" + strings.Repeat("x", min(100, n-len(b)-2)) + "\n"
			b = append(b, line...)
		}
		return b
	}
	exact, over := pad(issuer.MaxConfigBytes), pad(issuer.MaxConfigBytes+1)
	if len(exact) != issuer.MaxConfigBytes || len(over) != issuer.MaxConfigBytes+1 {
		t.Fatalf("padding: %d and %d bytes", len(exact), len(over))
	}
	if _, err := issuer.ParseConfig(exact, "", nil); err != nil {
		t.Fatalf("ParseConfig of %d bytes: %v", len(exact), err)
	}
	if _, err := issuer.ParseConfig(over, "", nil); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("ParseConfig of %d bytes: err = %v, want a size error", len(over), err)
	}
	dir := t.TempDir()
	for name, data := range map[string][]byte{"exact.yaml": exact, "over.yaml": append(over, strings.Repeat("#\n", 1<<20)...)} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := issuer.LoadFile(path)
		if wantErr := name == "over.yaml"; (err != nil) != wantErr || (wantErr && !strings.Contains(err.Error(), "larger than")) {
			t.Errorf("LoadFile(%s): err = %v, want error %v", name, err, wantErr)
		}
	}
}
