package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

// usageError is a bad command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// errSilent is a failure already reported on the command's output (verify
// of an invalid token): exit status 1 with nothing more to say.
var errSilent = errors.New("failed")

const usage = `usage: tenantjwt <command> [flags]

commands:
  demo     run local issuers and an API, and show who gets in and why not
  serve    forward-auth server (nginx, Traefik, Caddy; Envoy, Istio, Envoy
           Gateway over HTTP or gRPC ext_authz)
  verify   explain why a token is accepted or refused
  dev      run a local issuer for development; "dev mint" prints tokens
  version  print the version and build information (also --version)

Run "tenantjwt <command> --help" for a command's flags.
`

// run is the whole command, testable in process: main passes the
// process's arguments (without the program name) and standard streams.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return runWith(ctx, args, stdin, stdout, stderr, nil)
}

// runWith is run with hooks that let tests observe the servers of serve
// and dev without sleeping; run passes nil.
func runWith(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, hooks *serveHooks) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command"}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "demo":
		return runDemo(ctx, rest, stdout, stderr)
	case "serve":
		return runServe(ctx, rest, stdout, stderr, hooks)
	case "verify":
		return runVerify(ctx, rest, stdin, stdout, stderr)
	case "dev":
		return runDev(ctx, rest, stdout, stderr, hooks)
	case "version", "--version", "-version":
		return runVersion(rest, stdout)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
}

// parseFlags parses a subcommand's flags; --help prints the usage to stdout
// and returns flag.ErrHelp, which callers turn into success.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer, synopsis string) error {
	// Parse quietly: a bad flag is reported as one line by main.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fmt.Fprintf(stdout, "usage: tenantjwt %s\n\nflags:\n", synopsis)
		fs.PrintDefaults()
		return flag.ErrHelp
	}
	if err != nil {
		return usageError{err.Error()}
	}
	return nil
}
