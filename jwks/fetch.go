package jwks

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// get fetches u with the client of tuning t for policy p and its limits.
// It returns the body and the response's max-age (-1 when absent).
func (c *Cache) get(ctx context.Context, u string, p netPolicy, t *tuning) (body []byte, status int, maxAge time.Duration, err error) {
	client := t.clients[p]
	if client == nil {
		return nil, 0, -1, fmt.Errorf("jwks: fetch %s: %w: the configured HTTPClient's transport cannot check addresses (set AllowPrivateNetwork, or use an *http.Transport)", u, ErrAddressRefused)
	}
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, -1, err
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	req.Header.Set("User-Agent", c.opts.UserAgent)
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, -1, fmt.Errorf("jwks: fetch %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused, no more.
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, resp.StatusCode, -1, fmt.Errorf("jwks: fetch %s: status %d", u, resp.StatusCode)
	}
	// The cap applies to what we read, after any gzip decoding the
	// transport did, so a compressed bomb stops at the cap too.
	body, err = io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxBodyBytes+1))
	if err != nil {
		return nil, resp.StatusCode, -1, fmt.Errorf("jwks: read %s: %w", u, err)
	}
	if int64(len(body)) > c.opts.MaxBodyBytes {
		return nil, resp.StatusCode, -1, fmt.Errorf("jwks: %s: body larger than %d bytes", u, c.opts.MaxBodyBytes)
	}
	return body, resp.StatusCode, maxAgeOf(resp.Header.Get("Cache-Control")), nil
}

// maxAgeOf reads max-age from a Cache-Control value; -1 when absent or
// invalid. no-store and no-cache count as 0 (the clamp then applies).
func maxAgeOf(cc string) time.Duration {
	age := time.Duration(-1)
	for _, d := range strings.Split(cc, ",") {
		d = strings.ToLower(strings.TrimSpace(d))
		switch {
		case d == "no-store" || d == "no-cache":
			return 0
		case strings.HasPrefix(d, "max-age="):
			n, err := strconv.ParseInt(strings.Trim(d[len("max-age="):], `"`), 10, 64)
			if err != nil || n < 0 {
				continue
			}
			if n > int64(365*24*3600) {
				n = 365 * 24 * 3600
			}
			age = time.Duration(n) * time.Second
		}
	}
	return age
}
