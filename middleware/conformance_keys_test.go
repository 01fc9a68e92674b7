package middleware_test

import (
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantjwt/tenantjwt/issuer"
	"github.com/tenantjwt/tenantjwt/issuer/issuertest"
	"github.com/tenantjwt/tenantjwt/jwks"
	"github.com/tenantjwt/tenantjwt/middleware"
)

// keyRig is one issuer under attack (victim) and one healthy issuer (other)
// behind a fresh registry, with a shared settable clock and an HTTP client
// that records every request the registry makes and every body byte it
// reads.
type keyRig struct {
	victim, other *issuertest.Issuer
	reg           *issuer.Registry
	now           atomic.Int64
	bodyBytes     atomic.Int64 // JWKS and discovery body bytes read, after gzip decoding
	mu            sync.Mutex
	hosts         []string // every host the registry sent a request to
	fetched       chan jwks.FetchEvent
}

type rigOptions struct {
	tokenCache bool
	victim     func(c *issuer.Config) // adjusts the victim's config
}

func newKeyRig(t *testing.T, o rigOptions) *keyRig {
	t.Helper()
	k := &keyRig{fetched: make(chan jwks.FetchEvent, 64)}
	k.now.Store(time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC).UnixNano())
	k.victim = issuertest.New(t, issuertest.WithPath("/victim"), issuertest.WithAlgorithm("ES256"), issuertest.WithClock(k.clock))
	k.other = issuertest.New(t, issuertest.WithPath("/other"), issuertest.WithClock(k.clock))
	cv, co := k.victim.Config(), k.other.Config()
	cv.Name, co.Name = "victim", "other"
	if o.victim != nil {
		o.victim(&cv)
	}
	size := -1
	if o.tokenCache {
		size = 0 // the default size
	}
	reg, err := issuer.New(issuer.Options{
		TokenCacheSize: size,
		Now:            k.clock,
		KeysOptions: jwks.Options{
			Now:        k.clock,
			HTTPClient: &http.Client{Transport: recordingTransport{k}},
			Hooks: jwks.Hooks{FetchDone: func(ev jwks.FetchEvent) {
				select {
				case k.fetched <- ev:
				default:
				}
			}},
		},
	}, cv, co)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	k.reg = reg
	return k
}

func (k *keyRig) clock() time.Time    { return time.Unix(0, k.now.Load()) }
func (k *keyRig) add(d time.Duration) { k.now.Add(int64(d)) }
func (k *keyRig) requestedHosts() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.hosts...)
}

// serve sends tok through the net/http middleware and returns the status
// and challenge, failing the test if a refused request reached the handler.
func (k *keyRig) serve(t *testing.T, tok string) (int, string) {
	t.Helper()
	reached := false
	h := middleware.New(k.reg, middleware.Config{})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if reached != (rec.Code == 200) {
		t.Errorf("status %d but handler reached = %v", rec.Code, reached)
	}
	return rec.Code, rec.Header().Get("WWW-Authenticate")
}

// want asserts the status of tok and the challenge that goes with it.
func (k *keyRig) want(t *testing.T, what, tok string, status int) {
	t.Helper()
	code, www := k.serve(t, tok)
	wantWWW := map[int]string{200: "", 401: hdrInvalidToken, 503: ""}[status]
	if code != status || www != wantWWW {
		t.Errorf("%s: %d %q, want %d %q", what, code, www, status, wantWWW)
	}
}

// recordingTransport is http.DefaultTransport (so gzip is decoded
// transparently, as in production), recording hosts and body bytes.
type recordingTransport struct{ k *keyRig }

func (rt recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.k.mu.Lock()
	rt.k.hosts = append(rt.k.hosts, r.URL.Host)
	rt.k.mu.Unlock()
	resp, err := http.DefaultTransport.RoundTrip(r)
	if resp != nil {
		resp.Body = countingBody{resp.Body, &rt.k.bodyBytes}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// stream writes prefix, then chunk until the client goes away or limit
// bytes are written (0: no limit).
func stream(w http.ResponseWriter, r *http.Request, prefix, chunk []byte, limit int64) {
	w.Write(prefix)
	for written := int64(len(prefix)); limit == 0 || written < limit; written += int64(len(chunk)) {
		if r.Context().Err() != nil {
			return
		}
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

// currentJWK is the JWK the issuer publishes for its current key, with
// kid replaced ("" removes it) and extra members added.
func currentJWK(t *testing.T, iss *issuertest.Issuer, kid string, extra map[string]any) map[string]any {
	t.Helper()
	var set struct{ Keys []map[string]any }
	if err := json.Unmarshal(iss.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	for _, k := range set.Keys {
		if k["kid"] != iss.KID() {
			continue
		}
		delete(k, "kid")
		if kid != "" {
			k["kid"] = kid
		}
		for n, v := range extra {
			k[n] = v
		}
		return k
	}
	t.Fatalf("current key %s not published", iss.KID())
	return nil
}

func keySet(keys ...map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"keys": keys})
	return b
}

// TestConformanceKeySources runs SECURITY-CASES.md 30–35 (hostile, broken,
// redirected, rotating and unavailable key endpoints) end to end through the
// net/http middleware, with real JWKS servers under the test's control.
func TestConformanceKeySources(t *testing.T) {
	var attackerHits atomic.Int64
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attackerHits.Add(1)
		w.Write([]byte(`{"keys":[]}`))
	}))
	t.Cleanup(attacker.Close)
	attackerHost := strings.TrimPrefix(attacker.URL, "http://")

	// Cases 30 and 31: the victim's keys are cached; it rotates, and the
	// refetch caused by the new kid meets a hostile or broken response. The
	// update is refused: the new key's tokens stay out, the last good key
	// keeps serving, the healthy issuer never notices, and the response is
	// read no further than the body cap.
	spaces := bytes.Repeat([]byte(" "), 64<<10)
	bomb := func() []byte { // 2 MiB of spaces, gzipped to about 2 KiB
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		for range 32 {
			zw.Write(spaces)
		}
		zw.Close()
		return buf.Bytes()
	}()
	bad := []struct {
		name string
		// handler answers the refetch; victim's signers are the old key
		// (kid old) and the rotated one (kid fresh).
		handler func(t *testing.T, victim *issuertest.Issuer, old, fresh string) http.HandlerFunc
	}{
		{"30 endless JWKS body", func(*testing.T, *issuertest.Issuer, string, string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { stream(w, r, []byte(`{"keys":[`), spaces, 0) }
		}},
		{"30 JWKS of 1 GB", func(*testing.T, *issuertest.Issuer, string, string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", fmt.Sprint(1<<30))
				stream(w, r, []byte(`{"keys":[`), spaces, 1<<30)
			}
		}},
		{"30 gzip bomb (1 GiB of JSON whitespace in about 1 MiB)", func(*testing.T, *issuertest.Issuer, string, string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Encoding", "gzip")
				// Concatenated gzip members are one valid stream.
				for range 512 {
					if _, err := w.Write(bomb); err != nil {
						return
					}
				}
			}
		}},
		{"30 100 000 keys", func(t *testing.T, victim *issuertest.Issuer, _, fresh string) http.HandlerFunc {
			one, _ := json.Marshal(currentJWK(t, victim, "KID", nil))
			pre, post, _ := bytes.Cut(one, []byte(`"KID"`))
			var body bytes.Buffer
			body.WriteString(`{"keys":[`)
			var kid []byte
			for i := range 100_000 {
				if i > 0 {
					body.WriteByte(',')
				}
				kid = strconv.AppendInt(append(append(kid[:0], fresh...), '-'), int64(i), 10)
				body.Write(pre)
				body.Write(strconv.AppendQuote(nil, string(kid))) // kid "<fresh>-<i>"
				body.Write(post)
			}
			body.WriteString(`]}`)
			return func(w http.ResponseWriter, r *http.Request) { w.Write(body.Bytes()) }
		}},
		{"30 one key over the key cap, within the byte cap", func(t *testing.T, victim *issuertest.Issuer, _, fresh string) http.HandlerFunc {
			keys := make([]map[string]any, jwks.DefaultMaxKeys+1)
			for i := range keys {
				keys[i] = currentJWK(t, victim, fmt.Sprintf("%s-%d", fresh, i), nil)
			}
			keys[0]["kid"] = fresh
			body := keySet(keys...)
			return func(w http.ResponseWriter, r *http.Request) { w.Write(body) }
		}},
		{"31 HTML error page with status 500", func(*testing.T, *issuertest.Issuer, string, string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(500)
				w.Write([]byte("<html><body><h1>Internal Server Error</h1></body></html>"))
			}
		}},
		{"31 HTML maintenance page with status 200", func(*testing.T, *issuertest.Issuer, string, string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html><body>maintenance</body></html>")) }
		}},
		{"31 invalid JSON", func(t *testing.T, victim *issuertest.Issuer, _, fresh string) http.HandlerFunc {
			body := keySet(currentJWK(t, victim, fresh, nil))
			body = body[:len(body)-2] // cut before the closing brackets
			return func(w http.ResponseWriter, r *http.Request) { w.Write(body) }
		}},
		{"31 empty key set", func(*testing.T, *issuertest.Issuer, string, string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"keys":[]}`)) }
		}},
		{"31 keys without kid", func(t *testing.T, victim *issuertest.Issuer, _, _ string) http.HandlerFunc {
			// The new key and a copy, neither with a kid: nothing tells them
			// apart, so the set has no usable key.
			body := keySet(currentJWK(t, victim, "", nil), currentJWK(t, victim, "", map[string]any{"use": "sig", "alg": "ES256"}))
			return func(w http.ResponseWriter, r *http.Request) { w.Write(body) }
		}},
		{"31 key with private members", func(t *testing.T, victim *issuertest.Issuer, _, fresh string) http.HandlerFunc {
			priv, err := victim.Signer().(*ecdsa.PrivateKey).ECDH()
			if err != nil {
				t.Fatal(err)
			}
			d := base64.RawURLEncoding.EncodeToString(priv.Bytes())
			body := keySet(currentJWK(t, victim, fresh, map[string]any{"d": d}))
			return func(w http.ResponseWriter, r *http.Request) { w.Write(body) }
		}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			k := newKeyRig(t, rigOptions{})
			oldKid := k.victim.KID()
			stale := k.victim.Mint(nil)
			unseen := k.victim.Mint(map[string]any{"jti": "unseen"}) // verified only after the attack
			k.want(t, "token of the cached key", stale, 200)
			fresh := k.victim.Rotate()
			k.victim.SetJWKSHandler(tt.handler(t, k.victim, oldKid, fresh))
			newTok := k.victim.Mint(nil)
			k.bodyBytes.Store(0)
			before := k.victim.JWKSRequests()

			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			// The refetch failed, so the new kid may be a key we could not
			// fetch: 503 (keys unavailable), never a pass, not invalid_token.
			k.want(t, "token of the key the hostile update would add", newTok, 503)
			runtime.ReadMemStats(&m1)

			if n := k.victim.JWKSRequests() - before; n != 1 {
				t.Errorf("%d JWKS requests for the new kid, want 1", n)
			}
			if n := k.bodyBytes.Load(); n > jwks.DefaultMaxBodyBytes+1 {
				t.Errorf("read %d body bytes, cap is %d", n, jwks.DefaultMaxBodyBytes)
			}
			// The whole refused request, server side included, allocates a
			// small multiple of the body cap, never the attack's size.
			t.Logf("read %d body bytes, allocated %d bytes", k.bodyBytes.Load(), m1.TotalAlloc-m0.TotalAlloc)
			if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 8*jwks.DefaultMaxBodyBytes {
				t.Errorf("the refused update allocated %d bytes", alloc)
			}
			k.want(t, "token of the last good key", stale, 200)
			k.want(t, "token of the last good key, not seen before", unseen, 200)
			k.want(t, "token of the healthy issuer", k.other.Mint(nil), 200)
			if n := k.victim.JWKSRequests() - before; n != 1 {
				t.Errorf("%d JWKS requests in all, want 1 (cooldown)", n)
			}
		})
	}

	// The same hostile bodies on the very first fetch: no keys at all, so
	// the issuer's tokens get 503 (keys unavailable), never a pass.
	t.Run("31 an empty set on the first fetch never means skip verification", func(t *testing.T) {
		k := newKeyRig(t, rigOptions{})
		k.victim.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"keys":[]}`)) }))
		k.want(t, "token of an issuer without keys", k.victim.Mint(nil), 503)
		k.want(t, "unsigned token of an issuer without keys", k.victim.MintWith(map[string]any{"alg": "none"}, nil), 401)
		k.want(t, "token of the healthy issuer", k.other.Mint(nil), 200)
	})

	// Case 32: where the key request may go.
	redirects := []struct{ name, location string }{
		{"32 JWKS redirects to another host", attacker.URL + "/jwks.json"},
		{"32 JWKS redirects to the cloud metadata address", "http://169.254.169.254/latest/meta-data/iam/security-credentials/"},
		{"32 JWKS redirects to a file URL", "file:///etc/passwd"},
	}
	for _, tt := range redirects {
		t.Run(tt.name, func(t *testing.T) {
			k := newKeyRig(t, rigOptions{})
			k.victim.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, tt.location, http.StatusFound)
			}))
			before := attackerHits.Load()
			k.want(t, "token of the redirecting issuer", k.victim.Mint(nil), 503)
			k.want(t, "token of the healthy issuer", k.other.Mint(nil), 200)
			for _, h := range k.requestedHosts() {
				if h == attackerHost || strings.HasPrefix(h, "169.254.") {
					t.Errorf("the registry sent a request to %s", h)
				}
			}
			if n := attackerHits.Load() - before; n != 0 {
				t.Errorf("%d requests reached the attacker", n)
			}
		})
	}
	t.Run("32 jwks_uri over http to a non-loopback host is refused at configuration", func(t *testing.T) {
		k := newKeyRig(t, rigOptions{})
		c := k.victim.Config()
		c.Name, c.Issuer, c.JWKSURI = "plain", "https://plain.example/", "http://keys.example.com/jwks.json"
		if err := k.reg.Add(c); err == nil {
			t.Error("a plain-http jwks_uri to a remote host was accepted")
		}
		if h := k.requestedHosts(); len(h) != 0 {
			t.Errorf("requests sent: %v", h)
		}
	})
	metadata := func(doc func(self string) string) *httptest.Server {
		var self string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/openid-configuration") {
				w.Write([]byte(doc(self)))
				return
			}
			http.NotFound(w, r)
		}))
		t.Cleanup(srv.Close)
		self = srv.URL
		return srv
	}
	t.Run("32 discovery names a plain-http jwks_uri on the metadata address", func(t *testing.T) {
		srv := metadata(func(self string) string {
			return fmt.Sprintf(`{"issuer":%q,"jwks_uri":"http://169.254.169.254/keys"}`, self)
		})
		k := newKeyRig(t, rigOptions{victim: func(c *issuer.Config) { c.Issuer, c.JWKSURI, c.Discovery = srv.URL, "", true }})
		k.want(t, "token of the issuer", k.victim.Mint(map[string]any{"iss": srv.URL}), 503)
		for _, h := range k.requestedHosts() {
			if strings.HasPrefix(h, "169.254.") {
				t.Errorf("the registry sent a request to %s", h)
			}
		}
	})

	// Case 33: discovery metadata naming another issuer, whose jwks_uri is
	// the attacker's.
	t.Run("33 discovery metadata whose issuer differs", func(t *testing.T) {
		before := attackerHits.Load()
		srv := metadata(func(string) string {
			return fmt.Sprintf(`{"issuer":%q,"jwks_uri":%q}`, attacker.URL, attacker.URL+"/jwks.json")
		})
		k := newKeyRig(t, rigOptions{victim: func(c *issuer.Config) { c.Issuer, c.JWKSURI, c.Discovery = srv.URL, "", true }})
		k.want(t, "token of the issuer", k.victim.Mint(map[string]any{"iss": srv.URL}), 503)
		k.want(t, "token naming the issuer the metadata claims", k.victim.Mint(map[string]any{"iss": attacker.URL}), 401)
		k.want(t, "token of the healthy issuer", k.other.Mint(nil), 200)
		if n := attackerHits.Load() - before; n != 0 {
			t.Errorf("%d requests reached the attacker's jwks_uri", n)
		}
	})

	// Case 34: rotation with the verified-token cache on.
	t.Run("34 rotation: a new key after one refetch, a removed key refused after the next refresh, cached tokens too", func(t *testing.T) {
		k := newKeyRig(t, rigOptions{tokenCache: true})
		oldKid := k.victim.KID()
		oldTok := k.victim.Mint(nil)
		oldUnseen := k.victim.Mint(map[string]any{"jti": "o2"}) // presented only after removal
		k.want(t, "token of the first key", oldTok, 200)
		k.want(t, "the same token again (cached)", oldTok, 200)
		before := k.victim.JWKSRequests()
		k.victim.Rotate()
		newTok := k.victim.Mint(nil)
		k.want(t, "token of the new key", newTok, 200)
		if n := k.victim.JWKSRequests() - before; n != 1 {
			t.Errorf("new key accepted after %d fetches, want 1", n)
		}
		k.victim.Retire(oldKid)
		for len(k.fetched) > 0 {
			<-k.fetched
		}
		// Past the set's expiry a lookup waits for the refresh; the fetch
		// hook reports it.
		k.add(jwks.DefaultTTL + time.Second)
		k.want(t, "a new token of the new key", k.victim.Mint(map[string]any{"jti": "n2"}), 200)
		if ev := <-k.fetched; ev.Err != nil || ev.Keys != 1 {
			t.Fatalf("refresh: %+v, want one key", ev)
		}
		k.want(t, "cached token of the removed key", oldTok, 401)
		k.want(t, "new token of the removed key", oldUnseen, 401)
		k.want(t, "cached token of the new key", newTok, 200)
	})

	// Case 35: one issuer's outage is its own.
	t.Run("35 an issuer whose JWKS is down fails alone", func(t *testing.T) {
		k := newKeyRig(t, rigOptions{})
		k.victim.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(502) }))
		k.want(t, "token of the issuer that is down", k.victim.Mint(nil), 503)
		k.want(t, "token of the healthy issuer", k.other.Mint(nil), 200)
	})
	t.Run("35 an issuer whose JWKS hangs does not delay another", func(t *testing.T) {
		k := newKeyRig(t, rigOptions{})
		entered, release := make(chan struct{}), make(chan struct{})
		k.victim.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(entered)
			select {
			case <-release:
			case <-r.Context().Done():
			}
			w.WriteHeader(504)
		}))
		victimDone := make(chan int, 1)
		go func() {
			code, _ := k.serve(t, k.victim.Mint(nil))
			victimDone <- code
		}()
		<-entered // the victim's fetch is open and hanging
		k.want(t, "token of the healthy issuer while the other hangs", k.other.Mint(nil), 200)
		select {
		case code := <-victimDone:
			t.Fatalf("the hanging issuer's request finished (%d) before its fetch did", code)
		default:
		}
		close(release)
		if code := <-victimDone; code != 503 {
			t.Errorf("token of the hanging issuer: %d, want 503", code)
		}
	})
}
