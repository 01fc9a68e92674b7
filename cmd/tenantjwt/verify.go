package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/middleware"
	"github.com/tenantjwt/tenantjwt/middleware/canonical"
)

// runVerify explains one token against a config file (a plain issuer
// config or the serve config): which issuer matched (or why none), which
// key, each check, the Principal; with --method/--host/--path also the
// forward_auth decision for that request. Exit 0 when the token (and the
// request) is accepted, 1 when not.
func runVerify(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	configPath := fs.String("config", "", "config file (YAML or JSON) with the trusted issuers, such as the serve config (required)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	method := fs.String("method", "", "with --host/--path: judge the request as serve would (default GET)")
	host := fs.String("host", "", "host of the request to judge (X-Forwarded-Host)")
	path := fs.String("path", "", "path and query of the request to judge (X-Forwarded-Uri)")
	if err := parseFlags(fs, args, stdout, "verify --config FILE [--json] [--method M --host H --path P] [TOKEN|-]"); err != nil {
		return helpOK(err)
	}
	if *configPath == "" {
		return usageError{"verify: --config is required"}
	}
	if fs.NArg() > 1 {
		return usageError{"verify: one token at most"}
	}
	judge := *method != "" || *host != "" || *path != ""
	if judge && (*host == "" || *path == "") {
		return usageError{"verify: --host and --path go together (and --method, default GET)"}
	}
	token, err := readToken(fs.Arg(0), stdin)
	if err != nil {
		return err
	}
	cfg, err := loadServeConfig(*configPath, nil)
	if err != nil {
		return err
	}
	reg, err := issuer.NewFromFile(cfg.file, issuer.Options{})
	if err != nil {
		return err
	}
	defer reg.Close()

	rep := reg.Explain(ctx, token)
	v := verdict{Report: rep, Hints: hints(reg, rep, token, time.Now())}
	if judge {
		v.Request = judgeRequest(ctx, reg, &cfg.fa, rep, cmp.Or(*method, "GET"), *host, *path)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return err
		}
	} else if err := printReport(stdout, v); err != nil {
		return err
	}
	if !rep.Valid || (v.Request != nil && v.Request.Status != http.StatusOK) {
		return errSilent
	}
	return nil
}

// verdict is what verify prints: the library's report, hints for the
// human reading it, and the forward_auth decision when asked for.
type verdict struct {
	issuer.Report
	Hints   []string      `json:"hints,omitempty"`
	Request *requestCheck `json:"request,omitempty"`
}

// requestCheck explains serve's decision about one request.
type requestCheck struct {
	Method string `json:"method"`
	Host   string `json:"host"`
	Path   string `json:"path"`
	Rule   string `json:"rule,omitempty"`
	Status int    `json:"status"`
	Reason string `json:"reason"`
}

// judgeRequest runs the forward_auth part of serve's decision for a
// request given on the command line: canonical form, host binding, rule.
func judgeRequest(ctx context.Context, reg *issuer.Registry, fa *forwardAuth, rep issuer.Report, method, host, target string) *requestCheck {
	rc := &requestCheck{Method: method, Host: host, Path: target}
	req, err := canonical.New(method, "https", host, target, fa.Paths)
	if err != nil {
		rc.Status, rc.Reason = http.StatusBadRequest, err.Error()
		return rc
	}
	rc.Method, rc.Host, rc.Path = req.Method, req.Host, req.Path
	rl := fa.match(req)
	if rl != nil {
		rc.Rule = rl.describe()
	}
	p := rep.Principal
	switch {
	case p == nil && rl != nil && rl.Anonymous && rep.Error == "":
		rc.Status, rc.Reason = http.StatusOK, "anonymous rule: no token needed"
		return rc
	case p == nil:
		st, _ := middleware.Status(rep.Err)
		rc.Status, rc.Reason = st, "the token is refused: "+rep.Error
		return rc
	}
	if fa.tenantOf != nil {
		if bound, ok := fa.tenantOf(nil, req); ok && (bound == "" || p.Tenant() != bound) {
			rc.Status = http.StatusForbidden
			rc.Reason = fmt.Sprintf("host %s is bound to tenant %q; the token acts in %q (select another of its tenants %q with the tenant header)", req.Host, bound, p.Tenant(), p.Tenants())
			return rc
		}
	}
	if rl == nil {
		rc.Status, rc.Reason = http.StatusOK, "no rule applies: a valid token suffices"
		return rc
	}
	if err := rl.check(p); err != nil {
		rc.Status = http.StatusForbidden
		rc.Reason = fmt.Sprintf("%v; the token has roles %q, permissions %q, scopes %q, tenant %q", err, p.Roles(), p.Permissions(), p.Scopes(), p.Tenant())
		return rc
	}
	rc.Status, rc.Reason = http.StatusOK, "the rule's requirements are met"
	return rc
}

// hints adds what a human needs to fix a refusal: the trusted issuers and
// near misses for an unknown iss, the accepted audiences, the known key
// ids, and expiry in words.
func hints(reg *issuer.Registry, rep issuer.Report, token string, now time.Time) []string {
	claims := peekClaims(token)
	var out []string
	for _, c := range []struct{ name, verb string }{{"exp", "expires"}, {"iat", "issued"}, {"nbf", "valid from"}} {
		if sec, ok := claims[c.name].(float64); ok {
			t := time.Unix(int64(sec), 0).UTC()
			out = append(out, fmt.Sprintf("%s: %s (%s %s)", c.name, t.Format(time.RFC3339), c.verb, relative(t, now)))
		}
	}
	if rep.Valid {
		return out
	}
	configs := reg.Issuers()
	switch {
	case rep.Issuer == "" && claims != nil:
		iss, _ := claims["iss"].(string)
		var trusted []string
		for _, c := range configs {
			trusted = append(trusted, c.Issuer)
			if why := nearMiss(iss, c.Issuer); why != "" {
				out = append(out, fmt.Sprintf("iss %q is not trusted, but %q is: %s", iss, c.Issuer, why))
			}
		}
		out = append(out, fmt.Sprintf("trusted issuers: %s", strings.Join(trusted, ", ")))
	case strings.Contains(rep.Error, "audience"):
		for _, c := range configs {
			if cmp.Or(c.Name, c.Issuer) == rep.Issuer {
				out = append(out, fmt.Sprintf("token aud %v; %s accepts %q", claims["aud"], rep.Issuer, c.Audiences))
			}
		}
	case strings.Contains(rep.Error, "key not found"):
		for _, k := range reg.KeyStates() {
			if k.Name == rep.Issuer {
				out = append(out, fmt.Sprintf("token kid %q; %s has keys %q", rep.KeyID, rep.Issuer, k.KeyIDs))
			}
		}
	}
	return out
}

// nearMiss says how iss differs from a trusted issuer when it is almost
// the same: a trailing slash, the scheme, or the host's case.
func nearMiss(iss, trusted string) string {
	switch {
	case iss == "" || iss == trusted:
		return ""
	case strings.TrimSuffix(iss, "/") == strings.TrimSuffix(trusted, "/"):
		return "they differ by a trailing slash, and iss must match byte for byte"
	case strings.TrimPrefix(strings.TrimPrefix(iss, "https://"), "http://") == strings.TrimPrefix(strings.TrimPrefix(trusted, "https://"), "http://"):
		return "they differ in the scheme"
	case strings.EqualFold(iss, trusted):
		return "they differ in letter case"
	}
	return ""
}

// relative renders t against now: "in 5m", "2h ago".
func relative(t, now time.Time) string {
	d := t.Sub(now).Round(time.Second)
	if d >= 0 {
		return "in " + d.String()
	}
	return (-d).String() + " ago"
}

// peekClaims decodes the payload of a token for hints only (nothing is
// trusted from it); nil when it does not decode.
func peekClaims(token string) map[string]any {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(parts[1]) > 64<<10 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

// readToken takes the token from the argument, or from stdin for "-" or
// no argument. Surrounding whitespace and a "Bearer " prefix are dropped,
// for convenience when pasting.
func readToken(arg string, stdin io.Reader) (string, error) {
	tok := arg
	if arg == "" || arg == "-" {
		if stdin == nil {
			return "", usageError{"verify: no token (give it as the argument or on stdin)"}
		}
		b, err := io.ReadAll(io.LimitReader(bufio.NewReader(stdin), 1<<20))
		if err != nil {
			return "", err
		}
		tok = string(b)
	}
	tok = strings.TrimSpace(tok)
	if len(tok) > 7 && strings.EqualFold(tok[:7], "bearer ") {
		tok = strings.TrimSpace(tok[7:])
	}
	if tok == "" {
		return "", usageError{"verify: no token given"}
	}
	return tok, nil
}

func printReport(w io.Writer, v verdict) error {
	rep := v.Report
	var b strings.Builder
	verdict := "VALID"
	if !rep.Valid {
		verdict = "INVALID"
	}
	fmt.Fprintf(&b, "token: %s\n", verdict)
	if rep.Algorithm != "" || rep.KeyID != "" {
		fmt.Fprintf(&b, "header: alg=%q kid=%q typ=%q\n", rep.Algorithm, rep.KeyID, rep.Type)
	}
	if len(rep.IgnoredHeaders) > 0 {
		fmt.Fprintf(&b, "ignored header members (never used for keys): %s\n", strings.Join(rep.IgnoredHeaders, ", "))
	}
	if rep.Issuer != "" {
		fmt.Fprintf(&b, "issuer: %s (iss %s)\n", rep.Issuer, rep.IssuerURL)
	} else {
		b.WriteString("issuer: no trusted issuer matched\n")
	}
	if rep.Template != "" {
		fmt.Fprintf(&b, "template: %s (tenant %q)\n", rep.Template, rep.BoundTenant)
	}
	if rep.Key != "" {
		fmt.Fprintf(&b, "key: %s\n", rep.Key)
	}
	if rep.Preset != "" || len(rep.Mapping) > 0 {
		preset := rep.Preset
		if preset == "" {
			preset = "none"
		}
		fmt.Fprintf(&b, "preset: %s\n", preset)
		fields := make([]string, 0, len(rep.Mapping))
		for f := range rep.Mapping {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		for _, f := range fields {
			fmt.Fprintf(&b, "  %-12s <- %s\n", f, rep.Mapping[f])
		}
	}
	b.WriteString("checks:\n")
	for _, c := range rep.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(&b, "  %s %s", mark, c.Step)
		if c.Detail != "" {
			fmt.Fprintf(&b, ": %s", c.Detail)
		}
		b.WriteByte('\n')
	}
	if rep.Error != "" {
		fmt.Fprintf(&b, "error: %s\n", rep.Error)
	}
	for _, h := range v.Hints {
		fmt.Fprintf(&b, "hint: %s\n", h)
	}
	if rep.Principal != nil {
		p, err := json.MarshalIndent(rep.Principal, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "principal: %s\n", p)
	}
	if rc := v.Request; rc != nil {
		fmt.Fprintf(&b, "request: %s %s%s\n", rc.Method, rc.Host, rc.Path)
		if rc.Rule != "" {
			fmt.Fprintf(&b, "rule: %s\n", rc.Rule)
		} else {
			b.WriteString("rule: none applies\n")
		}
		fmt.Fprintf(&b, "serve would answer: %d (%s)\n", rc.Status, rc.Reason)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
