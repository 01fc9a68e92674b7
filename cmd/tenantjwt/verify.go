package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/tenantjwt/tenantjwt/issuer"
)

// runVerify explains one token against a config file: which issuer
// matched (or why none), which key, each check, the Principal. Exit 0 when
// the token is valid, 1 when not.
func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	configPath := fs.String("config", "", "config file (YAML or JSON) with the trusted issuers (required)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parseFlags(fs, args, stdout, "verify --config FILE [--json] [TOKEN|-]"); err != nil {
		return helpOK(err)
	}
	if *configPath == "" {
		return usageError{"verify: --config is required"}
	}
	if fs.NArg() > 1 {
		return usageError{"verify: one token at most"}
	}
	token, err := readToken(fs.Arg(0))
	if err != nil {
		return err
	}
	file, err := issuer.LoadFile(*configPath)
	if err != nil {
		return err
	}
	reg, err := issuer.NewFromFile(file, issuer.Options{})
	if err != nil {
		return err
	}
	defer reg.Close()

	rep := reg.Explain(ctx, token)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := printReport(stdout, rep); err != nil {
		return err
	}
	if !rep.Valid {
		return errSilent
	}
	return nil
}

// readToken takes the token from the argument, or from stdin for "-" or
// no argument. Surrounding whitespace and a "Bearer " prefix are dropped,
// for convenience when pasting.
func readToken(arg string) (string, error) {
	tok := arg
	if arg == "" || arg == "-" {
		b, err := io.ReadAll(io.LimitReader(bufio.NewReader(os.Stdin), 1<<20))
		if err != nil {
			return "", err
		}
		tok = string(b)
	}
	tok = strings.TrimSpace(tok)
	if len(tok) > 7 && strings.EqualFold(tok[:7], "bearer ") {
		tok = strings.TrimSpace(tok[7:])
	}
	if tok == "" {
		return "", usageError{"verify: no token given"}
	}
	return tok, nil
}

func printReport(w io.Writer, rep issuer.Report) error {
	var b strings.Builder
	verdict := "VALID"
	if !rep.Valid {
		verdict = "INVALID"
	}
	fmt.Fprintf(&b, "token: %s\n", verdict)
	if rep.Algorithm != "" || rep.KeyID != "" {
		fmt.Fprintf(&b, "header: alg=%q kid=%q typ=%q\n", rep.Algorithm, rep.KeyID, rep.Type)
	}
	if len(rep.IgnoredHeaders) > 0 {
		fmt.Fprintf(&b, "ignored header members (never used for keys): %s\n", strings.Join(rep.IgnoredHeaders, ", "))
	}
	if rep.Issuer != "" {
		fmt.Fprintf(&b, "issuer: %s (iss %s)\n", rep.Issuer, rep.IssuerURL)
	} else {
		b.WriteString("issuer: no trusted issuer matched\n")
	}
	if rep.Template != "" {
		fmt.Fprintf(&b, "template: %s (tenant %q)\n", rep.Template, rep.BoundTenant)
	}
	if rep.Key != "" {
		fmt.Fprintf(&b, "key: %s\n", rep.Key)
	}
	if rep.Preset != "" || len(rep.Mapping) > 0 {
		preset := rep.Preset
		if preset == "" {
			preset = "none"
		}
		fmt.Fprintf(&b, "preset: %s\n", preset)
		fields := make([]string, 0, len(rep.Mapping))
		for f := range rep.Mapping {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		for _, f := range fields {
			fmt.Fprintf(&b, "  %-12s <- %s\n", f, rep.Mapping[f])
		}
	}
	b.WriteString("checks:\n")
	for _, c := range rep.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(&b, "  %s %s", mark, c.Name)
		if c.Detail != "" {
			fmt.Fprintf(&b, ": %s", c.Detail)
		}
		b.WriteByte('\n')
	}
	if rep.Error != "" {
		fmt.Fprintf(&b, "error: %s\n", rep.Error)
	}
	if rep.Principal != nil {
		p, err := json.MarshalIndent(rep.Principal, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "principal: %s\n", p)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
