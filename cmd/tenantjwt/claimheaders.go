package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/issuer"
)

// claimHeaders are forward_auth.headers: response headers carrying the
// values at claim paths of the verified token, names[i] for paths[i].
type claimHeaders struct {
	names []string // canonical header names
	paths []issuer.ClaimPath
}

// reservedHeaders are set by serve itself; a claim header may not reuse
// one of their names.
var reservedHeaders = []string{"X-Auth-Issuer", "X-Auth-Subject", "X-Auth-Tenant", "X-Auth-Roles", "X-Auth-Permissions", "X-Auth-Scopes",
	"Www-Authenticate", "Retry-After", "Cache-Control", "Content-Type", "Content-Length", "Set-Cookie"}

// compileClaimHeaders validates forward_auth.headers, header → claim path.
func compileClaimHeaders(m map[string]string) (claimHeaders, error) {
	var out claimHeaders
	for name, path := range m {
		if strings.HasPrefix(name, ":") || len(name) > 64 || !validHeaderName(name) {
			return claimHeaders{}, fmt.Errorf("forward_auth: headers: %q is not a header name", name)
		}
		canon := http.CanonicalHeaderKey(name)
		for _, h := range reservedHeaders {
			if strings.EqualFold(canon, h) {
				return claimHeaders{}, fmt.Errorf("forward_auth: headers: %s is set by serve itself", canon)
			}
		}
		p, err := issuer.ParseClaimPath(path)
		if err != nil {
			return claimHeaders{}, fmt.Errorf("forward_auth: headers: %s: claim path %q: %w", canon, path, err)
		}
		out.names = append(out.names, canon)
		out.paths = append(out.paths, p)
	}
	return out, nil
}

// values renders the claim headers' values for p, decoding p's
// claims once, encoded like the X-Auth-* values: a string as itself, an
// array of strings, numbers or booleans as a comma-joined list, a number
// or boolean as its JSON text, an object as compact JSON; each
// percent-encoded where needed. Absent, null or unreadable claims give "",
// so the header is still sent and overwrites a client's copy; p is nil
// for an anonymous allow.
func (c claimHeaders) values(p *tenantjwt.Principal) []string {
	out := make([]string, len(c.names))
	if p == nil || len(c.paths) == 0 {
		return out
	}
	raws, _ := issuer.LookupClaims(p, c.paths) // a path that cannot be read stays empty
	for i, raw := range raws {
		out[i] = headerClaim(raw)
	}
	return out
}

// headerClaim renders one claim value (nil: absent) for a header.
func headerClaim(raw json.RawMessage) string {
	if raw == nil {
		return ""
	}
	raw = bytes.TrimSpace(raw)
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return headerValue(s)
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return ""
		}
		out := make([]string, 0, len(items))
		for _, it := range items {
			var s string
			if json.Unmarshal(it, &s) == nil {
				out = append(out, s)
			} else if c := bytes.TrimSpace(it); len(c) > 0 && c[0] != '{' && c[0] != '[' && c[0] != 'n' {
				out = append(out, string(c))
			}
		}
		return headerList(out)
	case '{':
		var buf bytes.Buffer
		if json.Compact(&buf, raw) != nil {
			return ""
		}
		return headerValue(buf.String())
	default:
		return headerValue(string(raw))
	}
}
