package tenantjwt

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"
)

// Identity is the writable form of a Principal: the fields a verifier fills
// in before it freezes them with NewPrincipal, and what Principal.Identity
// hands back to a caller that wants a copy to change.
type Identity struct {
	// Issuer is the name of the trusted issuer entry that verified the
	// token (the config's name, which defaults to its issuer URL).
	Issuer string
	// IssuerURL is the verified iss claim, byte for byte.
	IssuerURL string
	// Subject is the sub claim.
	Subject string
	// Tenant is the tenant the request acts in: fixed by the issuer's
	// config, bound from a templated iss, read from a verified claim, or
	// selected by the request among the token's Tenants.
	Tenant string
	// Tenants lists every tenant the token authorizes its subject for (for
	// example the keys of Descope's tenants claim), sorted. It contains
	// Tenant when that came from the token.
	Tenants []string
	// Roles, Permissions and Scopes are the values mapped from the token's
	// claims for Tenant, as configured for the issuer.
	Roles       []string
	Permissions []string
	Scopes      []string
	// Audience is the aud claim as a list.
	Audience []string
	// ExpiresAt is exp; IssuedAt is iat (zero when absent).
	ExpiresAt time.Time
	IssuedAt  time.Time
	// TokenID is the jti claim, if any.
	TokenID string
	// Binding says how the token is bound to its presenter, as checked on
	// every request: "" for a plain bearer token, BindingDPoP (cnf.jkt,
	// RFC 9449), BindingMTLS (cnf["x5t#S256"], RFC 8705), or both joined by
	// "+" when the token carries both confirmations.
	Binding string
	// EncodedClaims is the verified payload as the token carries it:
	// base64url without padding, a substring of the token, so that a
	// Principal (kept by the verified-token cache) holds no second copy of
	// the claims.
	EncodedClaims string `json:"-"`
}

// Principal is who a verified token speaks for. It is immutable: its
// fields are read through methods and its lists through List, so the one
// Principal the verified-token cache keeps for a token can be handed to
// every caller that presents it, and nothing one caller does changes what
// another sees. Build one with NewPrincipal; take a writable copy with
// Identity.
//
// Never assign through a *Principal (*p = *q) or copy one by value: the
// pointer may be shared with every other request of the same token. go vet
// reports both (its copylocks check).
//
// The zero Principal is empty and valid.
type Principal struct {
	_  noCopy
	id Identity
}

// noCopy makes go vet's copylocks check report code that copies a
// Principal or assigns through a pointer to one.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

// NewPrincipal returns a Principal holding id. Its lists are copied, so
// later changes to id's slices do not reach the Principal.
func NewPrincipal(id Identity) *Principal {
	n := len(id.Tenants) + len(id.Roles) + len(id.Permissions) + len(id.Scopes) + len(id.Audience)
	var p *Principal
	var all []string
	// One allocation for the Principal and its lists, sized in steps: the
	// verifier builds one for every newly verified token.
	switch {
	case n <= 8:
		b := &principalBox[[8]string]{p: Principal{id: id}}
		p, all = &b.p, b.lists[:n]
	case n <= 16:
		b := &principalBox[[16]string]{p: Principal{id: id}}
		p, all = &b.p, b.lists[:n]
	case n <= 24:
		b := &principalBox[[24]string]{p: Principal{id: id}}
		p, all = &b.p, b.lists[:n]
	default:
		p = &Principal{id: id}
		all = make([]string, n)
	}
	off := 0
	own := func(src []string) []string {
		if src == nil {
			return nil
		}
		dst := all[off : off+len(src) : off+len(src)]
		copy(dst, src)
		off += len(src)
		return dst
	}
	p.id.Tenants = own(id.Tenants)
	p.id.Roles = own(id.Roles)
	p.id.Permissions = own(id.Permissions)
	p.id.Scopes = own(id.Scopes)
	p.id.Audience = own(id.Audience)
	return p
}

// principalBox holds a Principal and its lists in one allocation.
type principalBox[A [8]string | [16]string | [24]string] struct {
	p     Principal
	lists A
}

// Identity returns a copy of the principal's fields that the caller may
// change; pass it to NewPrincipal for a new Principal.
func (p *Principal) Identity() Identity {
	id := p.id
	id.Tenants = slices.Clone(p.id.Tenants)
	id.Roles = slices.Clone(p.id.Roles)
	id.Permissions = slices.Clone(p.id.Permissions)
	id.Scopes = slices.Clone(p.id.Scopes)
	id.Audience = slices.Clone(p.id.Audience)
	return id
}

// Issuer is the name of the trusted issuer entry that verified the token.
func (p *Principal) Issuer() string { return p.id.Issuer }

// IssuerURL is the verified iss claim, byte for byte.
func (p *Principal) IssuerURL() string { return p.id.IssuerURL }

// Subject is the sub claim.
func (p *Principal) Subject() string { return p.id.Subject }

// Tenant is the tenant the request acts in (see Identity.Tenant).
func (p *Principal) Tenant() string { return p.id.Tenant }

// Tenants lists every tenant the token authorizes its subject for, sorted.
func (p *Principal) Tenants() List { return List{p.id.Tenants} }

// Roles are the roles mapped from the token's claims for Tenant.
func (p *Principal) Roles() List { return List{p.id.Roles} }

// Permissions are the permissions mapped from the token's claims for
// Tenant.
func (p *Principal) Permissions() List { return List{p.id.Permissions} }

// Scopes are the scopes mapped from the token's claims.
func (p *Principal) Scopes() List { return List{p.id.Scopes} }

// Audience is the aud claim as a list.
func (p *Principal) Audience() List { return List{p.id.Audience} }

// ExpiresAt is the exp claim.
func (p *Principal) ExpiresAt() time.Time { return p.id.ExpiresAt }

// IssuedAt is the iat claim, zero when absent.
func (p *Principal) IssuedAt() time.Time { return p.id.IssuedAt }

// TokenID is the jti claim, if any.
func (p *Principal) TokenID() string { return p.id.TokenID }

// Binding says how the token is bound to its presenter (see
// Identity.Binding).
func (p *Principal) Binding() string { return p.id.Binding }

// EncodedClaims is the verified payload as the token carries it (base64url
// without padding). Read the claims with DecodeClaims, Claims or RawClaims.
func (p *Principal) EncodedClaims() string { return p.id.EncodedClaims }

// HasRole reports whether the principal has the role, compared exactly.
func (p *Principal) HasRole(role string) bool { return slices.Contains(p.id.Roles, role) }

// HasPermission reports whether the principal has the permission, compared
// exactly.
func (p *Principal) HasPermission(perm string) bool {
	return slices.Contains(p.id.Permissions, perm)
}

// HasScope reports whether the principal has the scope, compared exactly.
func (p *Principal) HasScope(scope string) bool { return slices.Contains(p.id.Scopes, scope) }

// RawClaims returns the verified payload JSON, decoded anew on each call.
// It is I-JSON: valid UTF-8, no duplicate or case-colliding member names.
func (p *Principal) RawClaims() (json.RawMessage, error) {
	if p.id.EncodedClaims == "" {
		return nil, errors.New("tenantjwt: principal has no claims")
	}
	b, err := base64.RawURLEncoding.DecodeString(p.id.EncodedClaims)
	if err != nil {
		return nil, fmt.Errorf("tenantjwt: principal claims: %w", err)
	}
	return b, nil
}

// DecodeClaims decodes the verified claims into v, as json.Unmarshal does.
// encoding/json matches struct fields case-insensitively; verification
// refuses payloads with two member names of one object that are equal
// under that folding (and any payload that is not I-JSON, RFC 7493), so the
// member DecodeClaims reads for a field is the one the claim mapping reads
// by its exact name whenever that name is present.
func (p *Principal) DecodeClaims(v any) error {
	raw, err := p.RawClaims()
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// MarshalJSON renders the principal as its Identity's fields, with the
// claims as a JSON object under "RawClaims".
func (p *Principal) MarshalJSON() ([]byte, error) {
	raw, _ := p.RawClaims()
	return json.Marshal(struct {
		Identity
		RawClaims json.RawMessage `json:",omitempty"`
	}{p.id, raw})
}

// errDecodePrincipal is UnmarshalJSON's answer.
var errDecodePrincipal = errors.New("tenantjwt: a Principal cannot be decoded into; decode an Identity and call NewPrincipal")

// UnmarshalJSON refuses: a Principal is immutable, and may be shared with
// other callers. Decode JSON into an Identity and build a Principal with
// NewPrincipal.
func (p *Principal) UnmarshalJSON([]byte) error { return errDecodePrincipal }

// Claims decodes the verified claims into a map. Each call decodes anew;
// prefer DecodeClaims into a struct on hot paths.
func (p *Principal) Claims() (map[string]any, error) {
	var m map[string]any
	if err := p.DecodeClaims(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// List is a read-only list of strings: one of a Principal's lists. Reading
// it never allocates, except Strings, which returns a copy.
type List struct {
	s []string
}

// Len returns the number of values.
func (l List) Len() int { return len(l.s) }

// At returns the i'th value; it panics if i is out of range, as indexing a
// slice does.
func (l List) At(i int) string { return l.s[i] }

// Contains reports whether v is in the list, compared exactly.
func (l List) Contains(v string) bool { return slices.Contains(l.s, v) }

// Values iterates over the values in order.
func (l List) Values() iter.Seq[string] { return slices.Values(l.s) }

// Strings returns a copy of the values (nil for an empty list) that the
// caller may change.
func (l List) Strings() []string {
	if len(l.s) == 0 {
		return nil
	}
	return slices.Clone(l.s)
}

// String renders the list as fmt renders a []string.
func (l List) String() string { return fmt.Sprint(l.s) }

// Format lets fmt print a List as it prints a []string, with any verb and
// flags (%q gives ["a" "b"]).
func (l List) Format(f fmt.State, verb rune) { fmt.Fprintf(f, fmt.FormatString(f, verb), l.s) }

// MarshalJSON renders the list as a JSON array ([] when empty).
func (l List) MarshalJSON() ([]byte, error) {
	if l.s == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(l.s)
}
