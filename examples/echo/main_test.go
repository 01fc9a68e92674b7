package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestExampleRuns(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"carol, current tenant shop-a     -> 200 carol in tenant shop-a, roles [billing-admin]",
		"carol reads shop-a invoices      -> 200 invoices of shop-a",
		"carol selects shop-b             -> 200 carol in tenant shop-b, roles [viewer]",
		"carol in shop-b reads invoices   -> 403",
		"carol selects shop-c (not hers)  -> 403",
		"dave (acme viewer) reads /me     -> 200 dave in tenant acme",
		"forged token                     -> 401",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
