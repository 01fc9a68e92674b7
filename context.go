package tenantjwt

import "context"

// principalKey is the context key for the Principal. An unexported type
// makes collisions with other packages' keys impossible.
type principalKey struct{}

// NewContext returns a copy of ctx that carries p.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the Principal stored in ctx by NewContext, and whether
// there was one. A request that passed authentication middleware always has
// one; a pass-through request without a token has none.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}
