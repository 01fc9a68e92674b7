package issuer

import (
	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/internal/jwt"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// Step names one step of verification. The steps, in the order they run:
// "shape", "header", "issuer", "algorithm", "key", "signature", "json",
// "iss", "exp", "nbf", "iat", "lifetime", "aud", "typ", "tenant", "jti",
// "preset", "mapping", "binding". Explain reports them under these names.
type Step string

const (
	stepShape     Step = "shape"
	stepHeader    Step = "header"
	stepIssuer    Step = "issuer"
	stepAlgorithm Step = "algorithm"
	stepKey       Step = "key"
	stepSignature Step = "signature"
	stepJSON      Step = "json"
	stepIss       Step = "iss"
	stepExp       Step = "exp"
	stepNbf       Step = "nbf"
	stepIat       Step = "iat"
	stepLifetime  Step = "lifetime"
	stepAud       Step = "aud"
	stepTyp       Step = "typ"
	stepTenant    Step = "tenant"
	stepJTI       Step = "jti"
	stepPreset    Step = "preset"
	stepMapping   Step = "mapping"
	stepBinding   Step = "binding"
)

// VerifyError is a rejection by Verify, VerifyPresented or SelectTenant:
// the step that refused the token, the issuer it was checked against, and
// the cause. Err matches tenantjwt.ErrInvalidToken and a specific cause
// (or tenantjwt.ErrKeysUnavailable) with errors.Is, through Unwrap.
type VerifyError struct {
	// Issuer is the matched issuer's name, "" when none matched.
	Issuer string
	// Step is the step that failed.
	Step Step
	// Err is the cause.
	Err error
}

// Error is "issuer: <name>: <cause>", or the cause's own text (which
// starts with "issuer: ") when no issuer matched.
func (e *VerifyError) Error() string {
	if e.Issuer == "" {
		return e.Err.Error()
	}
	return "issuer: " + e.Issuer + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *VerifyError) Unwrap() error { return e.Err }

// fail wraps err as a *VerifyError of step, under e's name when an
// issuer matched.
func fail(e *entry, step Step, err error) error {
	ve := &VerifyError{Step: step, Err: err}
	if e != nil {
		ve.Issuer = e.name
	}
	return ve
}

// result is what one verification learned, also when it failed: each
// field is set once its step passed. Explain renders its Report from a
// result and the error; Verify keeps only the principal.
type result struct {
	tok        *jwt.Token // after shape
	e          *entry     // after issuer (also when the tenant is not allowed)
	iss, bound string
	key        *jwks.Key // after key
	reg        registered
	p          *tenantjwt.Principal // after mapping
	cnf        confirmation         // after binding
}
