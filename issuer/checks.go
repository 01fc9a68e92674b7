package issuer

import (
	"fmt"
	"slices"
	"time"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/internal/jwt"
)

// registered holds the registered claims read while checking.
type registered struct {
	exp, nbf, iat jwt.NumericDate
	aud           []string
	jti           string
}

// checkClaims validates the claims of a token whose signature verified,
// filling res.reg; on failure it names the step that failed.
func (e *entry) checkClaims(t *jwt.Token, res *result, now time.Time, leeway time.Duration) (Step, error) {
	reg := &res.reg
	c := t.Claims()

	// The iss that chose the issuer entry is the iss we accept: compared
	// byte for byte with the configuration (or its template and tenant).
	iss := res.iss
	ok := iss == e.cfg.Issuer || slices.Contains(e.cfg.Aliases, iss) ||
		(e.tpl != nil && iss == e.tpl.prefix+res.bound+e.tpl.suffix)
	if !ok {
		return stepIss, fmt.Errorf("iss %.64q does not match: %w", iss, tenantjwt.ErrUnknownIssuer)
	}

	if step, err := e.checkTimes(c, reg, now, leeway); err != nil {
		return step, err
	}
	if err := e.checkAudience(c, reg); err != nil {
		return stepAud, err
	}
	if e.typ != "" && jwt.NormTyp(t.Header.Typ) != e.typ {
		return stepTyp, fmt.Errorf("typ %.32q, want %q: %w", t.Header.Typ, e.cfg.RequireTyp, tenantjwt.ErrTokenType)
	}
	if e.tpl != nil {
		// The tenant in iss must be confirmed by the token's tenant claim,
		// so a token cannot be replayed under another tenant's iss form.
		raw, ok, err := c.LookupPath(e.tenantClaim, "")
		var got string
		if err == nil && ok {
			got, err = jwt.StringValue(raw)
		}
		if err != nil || !ok || got != res.bound {
			return stepTenant, fmt.Errorf("claim %s %.64q does not equal iss tenant %.64q: %w", e.tenantClaim.String(), got, res.bound, tenantjwt.ErrTenant)
		}
	}

	if raw, ok := c.Raw("jti"); ok {
		s, err := jwt.StringValue(raw)
		if err != nil {
			return stepJTI, fmt.Errorf("jti: %w", err)
		}
		reg.jti = s
	}

	if e.preset != nil && e.preset.Check != nil {
		h := presetHeader{Alg: t.Header.Alg, Kid: t.Header.Kid, Typ: t.Header.Typ}
		if err := e.preset.Check(h, c); err != nil {
			return stepPreset, fmt.Errorf("preset %s: %w", e.preset.Name, ensureCause(err, tenantjwt.ErrClaims))
		}
	}
	return "", nil
}

// checkTimes checks exp, nbf and iat at now, and the lifetime they span,
// filling reg; on failure it names the step that failed.
func (e *entry) checkTimes(c *jwt.Claims, reg *registered, now time.Time, leeway time.Duration) (Step, error) {
	n := float64(now.UnixNano()) / 1e9
	lw := leeway.Seconds()
	raw, ok := c.Member("exp")
	if !ok {
		return stepExp, fmt.Errorf("exp missing: %w", tenantjwt.ErrExpired)
	}
	d, err := jwt.ParseNumericDate(raw)
	if err != nil {
		return stepExp, fmt.Errorf("exp: %v: %w", err, tenantjwt.ErrExpired)
	}
	reg.exp = d
	if n >= d.Sec+lw {
		return stepExp, fmt.Errorf("exp %s is not after now %s (leeway %s): %w", d.Time().Format(time.RFC3339), jwt.NumericDate{Sec: n}.Time().Format(time.RFC3339), leeway, tenantjwt.ErrExpired)
	}

	for _, step := range [...]Step{stepNbf, stepIat} {
		raw, ok := c.Member(string(step))
		if !ok {
			continue
		}
		d, err := jwt.ParseNumericDate(raw)
		if err != nil {
			return step, fmt.Errorf("%s: %v: %w", step, err, tenantjwt.ErrNotYetValid)
		}
		if d.Sec > n+lw {
			return step, fmt.Errorf("%s %s is after now %s (leeway %s): %w", step, d.Time().Format(time.RFC3339), jwt.NumericDate{Sec: n}.Time().Format(time.RFC3339), leeway, tenantjwt.ErrNotYetValid)
		}
		if step == stepNbf {
			reg.nbf = d
		} else {
			reg.iat = d
		}
	}

	if max := e.cfg.MaxLifetime; max > 0 {
		if !reg.iat.Set {
			return stepLifetime, fmt.Errorf("iat missing with max_lifetime: %w", tenantjwt.ErrLifetime)
		}
		if life := reg.exp.Sec - reg.iat.Sec; life > max.Seconds() {
			return stepLifetime, fmt.Errorf("lifetime %.0fs exceeds %s: %w", life, max, tenantjwt.ErrLifetime)
		}
	}

	return "", nil
}

// checkAudience reads aud (a string or an array of strings; anything else
// is rejected even when no audience is configured) and, when audiences are
// configured, requires one of them. Without aud, a preset's audience claims
// (client_id, azp) stand in.
func (e *entry) checkAudience(c *jwt.Claims, reg *registered) error {
	raw, ok := c.Member("aud")
	if ok {
		var err error
		if jwt.FirstByte(raw) == '"' {
			var s string
			s, err = jwt.StringValue(raw)
			reg.aud = []string{s}
		} else {
			reg.aud, err = jwt.DecodeStringList(raw)
		}
		if err != nil {
			return fmt.Errorf("aud is not a string or an array of strings: %w", tenantjwt.ErrAudience)
		}
	}
	if len(e.cfg.Audiences) == 0 {
		return nil
	}
	candidates := reg.aud
	if !ok && e.preset != nil {
		for _, name := range e.preset.AudienceClaims {
			if s, present, err := c.String(name); err == nil && present {
				candidates = append(candidates, s)
			}
		}
	}
	for _, a := range candidates {
		if slices.Contains(e.cfg.Audiences, a) {
			return nil
		}
	}
	if !ok && len(candidates) == 0 {
		return fmt.Errorf("aud missing: %w", tenantjwt.ErrAudience)
	}
	return fmt.Errorf("aud %.64q names no accepted audience: %w", candidates, tenantjwt.ErrAudience)
}
