package tenantjwt_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/tenantjwt/tenantjwt"
)

// TestCauses is the table of the one rejection-cause vocabulary: every
// cause has a unique name that CauseName gives for it, wrapped or not,
// and every cause but ErrKeysUnavailable and ErrStoreUnavailable is in the ErrInvalidToken
// category.
func TestCauses(t *testing.T) {
	want := map[error]string{
		tenantjwt.ErrMalformed: "malformed", tenantjwt.ErrUnknownIssuer: "unknown_issuer",
		tenantjwt.ErrAlgorithm: "algorithm", tenantjwt.ErrKeyNotFound: "key_not_found",
		tenantjwt.ErrSignature: "signature", tenantjwt.ErrExpired: "expired",
		tenantjwt.ErrNotYetValid: "not_yet_valid", tenantjwt.ErrLifetime: "lifetime",
		tenantjwt.ErrAudience: "audience", tenantjwt.ErrTokenType: "token_type",
		tenantjwt.ErrTenant: "tenant", tenantjwt.ErrClaims: "claims",
		tenantjwt.ErrDPoPProof: "dpop_proof", tenantjwt.ErrTokenBinding: "token_binding",
		tenantjwt.ErrKeysUnavailable: "keys_unavailable", tenantjwt.ErrStoreUnavailable: "store_unavailable",
	}
	causes := tenantjwt.Causes()
	if len(causes) != len(want) {
		t.Fatalf("%d causes, want %d", len(causes), len(want))
	}
	seen := map[string]bool{}
	for _, c := range causes {
		t.Run(c.Name, func(t *testing.T) {
			if want[c.Err] != c.Name || seen[c.Name] {
				t.Fatalf("cause %v named %q (want %q, seen before %v)", c.Err, c.Name, want[c.Err], seen[c.Name])
			}
			seen[c.Name] = true
			wrapped := fmt.Errorf("layer: %w", fmt.Errorf("inner: %w", c.Err))
			if got := tenantjwt.CauseName(wrapped); got != c.Name {
				t.Errorf("CauseName(wrapped %v) = %q, want %q", c.Err, got, c.Name)
			}
			if got, ok := tenantjwt.CauseOf(c.Err); !ok || got.Err != c.Err {
				t.Errorf("CauseOf(%v) = %v, %v", c.Err, got, ok)
			}
			inv := errors.Is(c.Err, tenantjwt.ErrInvalidToken)
			if inv != (c.Err != tenantjwt.ErrKeysUnavailable && c.Err != tenantjwt.ErrStoreUnavailable) {
				t.Errorf("%v in ErrInvalidToken: %v", c.Err, inv)
			}
		})
	}
	for err, name := range map[error]string{nil: "ok", errors.New("x"): "other", tenantjwt.ErrInvalidToken: "other", tenantjwt.ErrForbidden: "other"} {
		if got := tenantjwt.CauseName(err); got != name {
			t.Errorf("CauseName(%v) = %q, want %q", err, got, name)
		}
	}
	// Causes returns a copy.
	causes[0].Name = "changed"
	if tenantjwt.Causes()[0].Name != "malformed" {
		t.Error("Causes shares its list")
	}
}
