package main

import (
	"context"
	"flag"
	"io"
)

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	if err := parseFlags(fs, args, stdout, "dev"); err != nil {
		return helpOK(err)
	}
	return usageError{"dev: not implemented"}
}
