// Package bench measures tenantjwt against the crypto floor and peer Go
// JWT libraries in one `go test -bench` run. It is its own module so that
// peers never enter tenantjwt's go.mod. See BENCHMARKS.md at the root.
package bench
