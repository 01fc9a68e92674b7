// Command bareserver is the floor of BenchmarkServeOverhead: a bare
// net/http server that answers every request 200 with the fixed headers
// given as arguments ("Name: value", one per argument), as `tenantjwt
// serve` answers an allowed check, and nothing else. It listens on
// 127.0.0.1:0 and prints its address as the first line of stdout.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	h := http.Header{}
	for _, a := range os.Args[1:] {
		name, value, ok := strings.Cut(a, ":")
		if !ok {
			fmt.Fprintf(os.Stderr, "bareserver: %q: want \"Name: value\"\n", a)
			os.Exit(2)
		}
		h.Set(name, strings.TrimSpace(value))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bareserver:", err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			out := w.Header()
			for k, v := range h {
				out.Set(k, v[0])
			}
			w.WriteHeader(http.StatusOK)
		}),
		// serve's defaults (tenantjwt serve --help).
		ReadTimeout:       10 * time.Second,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	err = srv.Serve(ln)
	fmt.Fprintln(os.Stderr, "bareserver:", err)
	os.Exit(1)
}
