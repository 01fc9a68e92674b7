package issuer

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/tenantjwt/tenantjwt"
)

// maxNumericDate is 9999-12-31T23:59:59Z: later dates are not plausible
// and would overflow time arithmetic.
const maxNumericDate = 253402300799

// numericDate is a JWT NumericDate (seconds since the epoch, possibly
// fractional).
type numericDate struct {
	sec float64
	set bool
}

// nanos is d in Unix nanoseconds, saturated at math.MaxInt64 (year 2262):
// a float64 beyond int64's range has no defined conversion.
func (d numericDate) nanos() int64 {
	if ns := d.sec * 1e9; ns < math.MaxInt64 {
		return int64(ns)
	}
	return math.MaxInt64
}

func (d numericDate) time() time.Time {
	s, frac := math.Modf(d.sec)
	return time.Unix(int64(s), int64(frac*1e9)).UTC()
}

// parseNumericDate reads a JSON number in [0, year 9999]. Strings, null,
// NaN, negatives and huge values are errors.
func parseNumericDate(raw json.RawMessage) (numericDate, error) {
	c := firstByte(raw)
	if c != '-' && (c < '0' || c > '9') {
		return numericDate{}, fmt.Errorf("not a JSON number (%s)", kind(raw))
	}
	if len(raw) > 64 {
		return numericDate{}, fmt.Errorf("number of %d bytes", len(raw))
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return numericDate{}, fmt.Errorf("bad number %.32q", raw)
	}
	if f < 0 || f > maxNumericDate {
		return numericDate{}, fmt.Errorf("%.0f is out of range", f)
	}
	return numericDate{sec: f, set: true}, nil
}

// registered holds the registered claims read while checking.
type registered struct {
	exp, nbf, iat numericDate
	aud           []string
	jti           string
}

// checkClaims validates the claims of a token whose signature verified,
// filling res.reg; on failure it names the step that failed.
func (e *entry) checkClaims(t *token, res *result, now time.Time, leeway time.Duration) (Step, error) {
	reg := &res.reg
	c := t.claims

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
	if e.typ != "" && normTyp(t.header.typ) != e.typ {
		return stepTyp, fmt.Errorf("typ %.32q, want %q: %w", t.header.typ, e.cfg.RequireTyp, tenantjwt.ErrTokenType)
	}
	if e.tpl != nil {
		// The tenant in iss must be confirmed by the token's tenant claim,
		// so a token cannot be replayed under another tenant's iss form.
		raw, ok, err := c.lookup(e.tenantClaim, "")
		var got string
		if err == nil && ok {
			got, err = StringValue(raw)
		}
		if err != nil || !ok || got != res.bound {
			return stepTenant, fmt.Errorf("claim %s %.64q does not equal iss tenant %.64q: %w", e.tenantClaim.src, got, res.bound, tenantjwt.ErrTenant)
		}
	}

	if raw, ok := c.Raw("jti"); ok {
		s, err := StringValue(raw)
		if err != nil {
			return stepJTI, fmt.Errorf("jti: %w", err)
		}
		reg.jti = s
	}

	if e.preset != nil && e.preset.Check != nil {
		h := Header{Alg: t.header.alg, Kid: t.header.kid, Typ: t.header.typ}
		if err := e.preset.Check(h, c); err != nil {
			return stepPreset, fmt.Errorf("preset %s: %w", e.preset.Name, ensureCause(err, tenantjwt.ErrClaims))
		}
	}
	return "", nil
}

// checkTimes checks exp, nbf and iat at now, and the lifetime they span,
// filling reg; on failure it names the step that failed.
func (e *entry) checkTimes(c *Claims, reg *registered, now time.Time, leeway time.Duration) (Step, error) {
	n := float64(now.UnixNano()) / 1e9
	lw := leeway.Seconds()
	raw, ok := c.member("exp")
	if !ok {
		return stepExp, fmt.Errorf("exp missing: %w", tenantjwt.ErrExpired)
	}
	d, err := parseNumericDate(raw)
	if err != nil {
		return stepExp, fmt.Errorf("exp: %v: %w", err, tenantjwt.ErrExpired)
	}
	reg.exp = d
	if n >= d.sec+lw {
		return stepExp, fmt.Errorf("exp %s is not after now %s (leeway %s): %w", d.time().Format(time.RFC3339), numericDate{sec: n}.time().Format(time.RFC3339), leeway, tenantjwt.ErrExpired)
	}

	for _, step := range [...]Step{stepNbf, stepIat} {
		raw, ok := c.member(string(step))
		if !ok {
			continue
		}
		d, err := parseNumericDate(raw)
		if err != nil {
			return step, fmt.Errorf("%s: %v: %w", step, err, tenantjwt.ErrNotYetValid)
		}
		if d.sec > n+lw {
			return step, fmt.Errorf("%s %s is after now %s (leeway %s): %w", step, d.time().Format(time.RFC3339), numericDate{sec: n}.time().Format(time.RFC3339), leeway, tenantjwt.ErrNotYetValid)
		}
		if step == stepNbf {
			reg.nbf = d
		} else {
			reg.iat = d
		}
	}

	if max := e.cfg.MaxLifetime; max > 0 {
		if !reg.iat.set {
			return stepLifetime, fmt.Errorf("iat missing with max_lifetime: %w", tenantjwt.ErrLifetime)
		}
		if life := reg.exp.sec - reg.iat.sec; life > max.Seconds() {
			return stepLifetime, fmt.Errorf("lifetime %.0fs exceeds %s: %w", life, max, tenantjwt.ErrLifetime)
		}
	}

	return "", nil
}

// checkAudience reads aud (a string or an array of strings; anything else
// is rejected even when no audience is configured) and, when audiences are
// configured, requires one of them. Without aud, a preset's audience claims
// (client_id, azp) stand in.
func (e *entry) checkAudience(c *Claims, reg *registered) error {
	raw, ok := c.member("aud")
	if ok {
		var err error
		if firstByte(raw) == '"' {
			var s string
			s, err = StringValue(raw)
			reg.aud = []string{s}
		} else {
			reg.aud, err = stringList(raw)
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
