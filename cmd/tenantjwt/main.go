// Command tenantjwt verifies JWT access tokens from many issuers: a demo, a
// forward-auth server for gateways, a token explainer and a local issuer for
// development. It is a client of the tenantjwt library like any other.
//
//	tenantjwt demo                       # see it work, no setup
//	tenantjwt serve --config FILE        # forward-auth for nginx, Traefik, Envoy
//	tenantjwt verify --config FILE TOKEN # why is this token accepted or refused?
//	tenantjwt dev --tenant acme          # a local issuer; dev mint prints tokens
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, errSilent) {
		fmt.Fprintln(os.Stderr, "tenantjwt:", err)
	}
	os.Exit(exitCode(err))
}

// exitCode maps run's error: 0 on success, 2 for usage errors, 1 otherwise.
func exitCode(err error) int {
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		return 2
	default:
		return 1
	}
}
