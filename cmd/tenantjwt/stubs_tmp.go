package main

import (
	"context"
	"io"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error  { return usageError{"serve: not yet"} }
func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error { return usageError{"verify: not yet"} }
func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error    { return usageError{"dev: not yet"} }
