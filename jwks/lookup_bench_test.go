package jwks_test

import (
	"context"
	"testing"

	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/jwks"
)

// BenchmarkLookupParallel looks up a known kid of a fresh key set from
// every P: the path of every verification, which must not serialise on a
// lock. Usable is the verified-token cache's check.
func BenchmarkLookupParallel(b *testing.B) {
	idp := issuertest.New(b)
	c := jwks.NewCache(jwks.Options{})
	b.Cleanup(func() { c.Close() })
	rem, err := c.Remote(idp.JWKSURL(), jwks.RemoteOptions{Label: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	disc, err := c.Discover(idp.URL(), jwks.RemoteOptions{Label: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	kid := idp.KID()
	for _, s := range []struct {
		name string
		src  jwks.Source
	}{{"remote", rem}, {"discovery", disc}} {
		if err := s.src.(jwks.Refresher).Refresh(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.Run(s.name+"/Lookup", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if _, err := s.src.Lookup(ctx, kid); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
		b.Run(s.name+"/Usable", func(b *testing.B) {
			ex := s.src.(jwks.Expiring)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if set, _ := ex.Usable(); set == nil {
						b.Error("no set")
						return
					}
				}
			})
		})
	}
}
