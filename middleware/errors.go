package middleware

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/middleware/canonical"
)

// RFC 6750 error codes.
const (
	CodeInvalidRequest    = "invalid_request"
	CodeInvalidToken      = "invalid_token"
	CodeInsufficientScope = "insufficient_scope"
	// CodeInvalidDPoPProof is RFC 9449's error for a missing or bad DPoP
	// proof, sent with the DPoP scheme.
	CodeInvalidDPoPProof = "invalid_dpop_proof"
)

// Fixed descriptions: nothing on the wire depends on the token or on the
// detailed error, so a response never helps an attacker tune a forgery.
const (
	descNoToken           = "authentication required"
	descInvalidRequest    = "the request must carry exactly one well-formed bearer token"
	descInvalidTarget     = "the request target, host or method is not in canonical form"
	descInvalidToken      = "the access token is not valid"
	descInsufficientScope = "the access token does not allow this request"
	descUnavailable       = "the access token cannot be verified right now"
	descInvalidDPoPProof  = "the DPoP proof is not valid"
)

// Status maps an error from extraction, verification, tenant checks or
// guards to an HTTP status and an RFC 6750 error code. It is the only place
// that makes that decision:
//
//   - ErrNoToken: 401 with no error code
//   - ErrMultipleTokens: 400 invalid_request
//   - canonical.ErrRequest (a request that could be read two ways): 400
//     invalid_request
//   - tenantjwt.ErrForbidden: 403 insufficient_scope
//   - tenantjwt.ErrKeysUnavailable: 503 with no error code (the issuer's keys
//     could not be fetched; the token may well be good)
//   - tenantjwt.ErrStoreUnavailable: 503 likewise (the shared DPoP replay
//     store could not be asked; the proof may well be good)
//   - tenantjwt.ErrDPoPProof: 401 invalid_dpop_proof
//   - anything else, including unknown errors: 401 invalid_token, so an
//     unexpected failure never lets a request through.
func Status(err error) (status int, code string) {
	switch {
	case err == nil:
		return http.StatusOK, ""
	case errors.Is(err, ErrNoToken):
		return http.StatusUnauthorized, ""
	case errors.Is(err, ErrMultipleTokens), errors.Is(err, canonical.ErrRequest):
		return http.StatusBadRequest, CodeInvalidRequest
	case errors.Is(err, tenantjwt.ErrForbidden):
		return http.StatusForbidden, CodeInsufficientScope
	case errors.Is(err, tenantjwt.ErrKeysUnavailable) && !errors.Is(err, tenantjwt.ErrInvalidToken),
		errors.Is(err, tenantjwt.ErrStoreUnavailable) && !errors.Is(err, tenantjwt.ErrInvalidToken):
		return http.StatusServiceUnavailable, ""
	case errors.Is(err, tenantjwt.ErrDPoPProof):
		return http.StatusUnauthorized, CodeInvalidDPoPProof
	default:
		return http.StatusUnauthorized, CodeInvalidToken
	}
}

// Challenge is a rendered error response: what the default error writer
// sends and what the echo adapter puts in its *echo.HTTPError.
type Challenge struct {
	// Status is the HTTP status.
	Status int
	// WWWAuthenticate is the header value; empty for 503.
	WWWAuthenticate string
	// Code is the RFC 6750 error code, empty when there is none.
	Code string
	// Description is the fixed error_description.
	Description string
}

// Body is the small JSON document sent with an error response.
type Body struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// NewChallenge renders err for realm, with unavailableStatus replacing 503
// when it is non-zero (see Config.KeysUnavailableStatus).
func NewChallenge(realm string, err error, unavailableStatus int) Challenge {
	status, code := Status(err)
	c := Challenge{Status: status, Code: code}
	switch {
	case status == http.StatusServiceUnavailable:
		c.Description = descUnavailable
		if unavailableStatus != 0 {
			c.Status = unavailableStatus
		}
		if c.Status == http.StatusUnauthorized {
			// Answering 401 instead: the standard invalid_token answer.
			c.Code, c.Description = CodeInvalidToken, descInvalidToken
		}
	case code == "":
		c.Description = descNoToken
	case code == CodeInvalidRequest && errors.Is(err, canonical.ErrRequest):
		c.Description = descInvalidTarget
	case code == CodeInvalidRequest:
		c.Description = descInvalidRequest
	case code == CodeInsufficientScope:
		c.Description = descInsufficientScope
	case code == CodeInvalidDPoPProof:
		c.Description = descInvalidDPoPProof
	default:
		c.Description = descInvalidToken
	}
	if c.Status == http.StatusUnauthorized || c.Status == http.StatusForbidden || c.Status == http.StatusBadRequest {
		if c.Code == CodeInvalidDPoPProof {
			c.WWWAuthenticate = dpopChallengeHeader(realm, c.Code, c.Description, "")
		} else {
			c.WWWAuthenticate = challengeHeader(realm, c.Code, c.Description)
		}
	}
	return c
}

// Body returns the JSON body for c.
func (c Challenge) Body() Body {
	code := c.Code
	if code == "" {
		if c.Status == http.StatusUnauthorized {
			code = "unauthorized"
		} else {
			code = "temporarily_unavailable"
		}
	}
	return Body{Error: code, ErrorDescription: c.Description}
}

// SetHeaders sets the headers of c's response on h: the challenge,
// Retry-After for 503, and Cache-Control no-store. Write and the echo
// adapter both send them through it.
func (c Challenge) SetHeaders(h http.Header) {
	if c.WWWAuthenticate != "" {
		h.Set("WWW-Authenticate", c.WWWAuthenticate)
	}
	if c.Status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "5")
	}
	h.Set("Cache-Control", "no-store")
}

// Write sends c as the response.
func (c Challenge) Write(w http.ResponseWriter) {
	h := w.Header()
	c.SetHeaders(h)
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(c.Status)
	json.NewEncoder(w).Encode(c.Body())
}

// challengeHeader renders `Bearer realm="…"` and, when code is set, the
// error and error_description attributes.
func challengeHeader(realm, code, desc string) string {
	return schemeChallenge("Bearer", realm, code, desc)
}

// dpopChallengeHeader renders the DPoP scheme's challenge (RFC 9449 §7.1),
// with the algs attribute when algs is not empty.
func dpopChallengeHeader(realm, code, desc, algs string) string {
	s := schemeChallenge("DPoP", realm, code, desc)
	if algs != "" {
		s += `, algs=` + quote(algs)
	}
	return s
}

func schemeChallenge(scheme, realm, code, desc string) string {
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString(` realm=`)
	b.WriteString(quote(realm))
	if code != "" {
		b.WriteString(`, error=`)
		b.WriteString(quote(code))
		b.WriteString(`, error_description=`)
		b.WriteString(quote(desc))
	}
	return b.String()
}

// quote renders an RFC 7230 quoted-string, escaping '"' and '\' and
// dropping control characters, which could otherwise split the header.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
