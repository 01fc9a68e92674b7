package issuer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tenantjwt/tenantjwt/dpop"
)

// MaxConfigBytes caps a config document (ParseConfig, LoadFile); a
// program that reads a config file itself bounds its read with it.
const MaxConfigBytes = 1 << 20

// File is a config file: the top-level keys of the config contract.
type File struct {
	// Leeway is Options.Leeway ("30s"); 0 means the default.
	Leeway time.Duration `yaml:"leeway,omitempty" json:"leeway,omitempty"`
	// MaxTokenBytes is Options.MaxTokenBytes; 0 means the default.
	MaxTokenBytes int `yaml:"max_token_bytes,omitempty" json:"max_token_bytes,omitempty"`
	// TokenCache configures the verified-token cache.
	TokenCache TokenCacheConfig `yaml:"token_cache,omitempty" json:"token_cache,omitempty"`
	// DPoPProofs configures the checking of DPoP proofs.
	DPoPProofs DPoPProofsConfig `yaml:"dpop_proofs,omitempty" json:"dpop_proofs,omitempty"`
	// Issuers are the trusted issuers.
	Issuers []Config `yaml:"issuers" json:"issuers"`
}

// DPoPProofsConfig is the dpop_proofs section (see dpop.Options).
type DPoPProofsConfig struct {
	// MaxAge is dpop.Options.MaxAge ("60s"); 0 means the default.
	MaxAge time.Duration `yaml:"max_age,omitempty" json:"max_age,omitempty"`
	// Algorithms is dpop.Options.Algorithms; empty means the default.
	Algorithms []string `yaml:"algorithms,omitempty" json:"algorithms,omitempty"`
	// ReplayCacheSize is dpop.Options.ReplayCacheSize; 0 means the default.
	ReplayCacheSize int `yaml:"replay_cache_size,omitempty" json:"replay_cache_size,omitempty"`
	// ReplayPerKey is dpop.Options.ReplayPerKey; 0 means the default.
	ReplayPerKey int `yaml:"replay_per_key,omitempty" json:"replay_per_key,omitempty"`
	// Store, when set, is a Redis or Valkey server shared by replicas
	// that remembers the proofs instead of an in-process cache:
	// redis://[user:password@]host:port/db, or rediss:// for TLS. This
	// package only checks its form; the program builds the store (serve
	// uses package dpop/redisreplay, with ReplayPerKey as each client
	// key's share per max_age plus leeway).
	Store string `yaml:"store,omitempty" json:"store,omitempty"`
}

// checkStoreURL checks the form of dpop_proofs.store. Its errors never
// repeat the URL, which may hold a password.
func checkStoreURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || !strings.HasPrefix(s, u.Scheme+"://") || u.Hostname() == "" {
		return errors.New("issuer: config: dpop_proofs.store: want redis://host:port/db or rediss://host:port/db")
	}
	return nil
}

// TokenCacheConfig is the token_cache section.
type TokenCacheConfig struct {
	// Size is the number of tokens kept: absent means the default
	// (Options.TokenCacheSize's), 0 disables the cache.
	Size *int `yaml:"size,omitempty" json:"size,omitempty"`
}

// LoadFile reads a YAML or JSON config file and parses it with
// ParseConfig. A relative jwks_file or ca_file is taken from the config
// file's folder.
func LoadFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("issuer: config: %w", err)
	}
	defer f.Close()
	// One byte more than ParseConfig takes, so that it refuses the file.
	data, err := io.ReadAll(io.LimitReader(f, MaxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("issuer: config %s: %w", path, err)
	}
	file, err := ParseConfig(data, filepath.Dir(path), nil)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return file, nil
}

// ParseConfig parses a config document, YAML or JSON (JSON is parsed as
// YAML), of at most MaxConfigBytes. Unknown keys are errors, so a typo
// never silently drops a check. ${VAR} in any value is replaced by the
// environment variable VAR (an unset VAR is an error; $$ is a literal $);
// values are expanded after parsing, so they cannot change the document's
// structure. Every issuer is validated; errors name the entry and field.
//
// dir, when not empty, is the folder of the file the document came from:
// a relative jwks_file or ca_file is taken from it. With dir "" such paths
// stay relative to the working folder.
//
// sections, when not nil, are extra top-level sections that belong to the
// caller (such as the command's forward_auth rules): each key of sections
// is allowed at the top level and decoded, strictly, into its value, which
// must be a pointer.
func ParseConfig(data []byte, dir string, sections map[string]any) (*File, error) {
	if len(data) > MaxConfigBytes {
		return nil, fmt.Errorf("issuer: config larger than %d bytes", MaxConfigBytes)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("issuer: config: %v", err)
	}
	if len(doc.Content) == 0 {
		return nil, errors.New("issuer: config: empty document")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, errors.New("issuer: config: top level must be a mapping")
	}
	if err := expandEnv(root); err != nil {
		return nil, err
	}
	// Pull the caller's sections out before the strict decode.
	kept := root.Content[:0:0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if dst, ok := sections[k.Value]; ok {
			if err := decodeStrict(v, dst); err != nil {
				return nil, fmt.Errorf("issuer: config: %s: %v", k.Value, err)
			}
			continue
		}
		kept = append(kept, k, v)
	}
	untouched := len(kept) == len(root.Content) && bytes.IndexByte(data, '$') < 0
	root.Content = kept

	var f File
	decode := func() error { return decodeStrict(root, &f) }
	if untouched {
		// Nothing was expanded or pulled out: decode the bytes as they
		// are, without encoding the tree again (a third of the cost of
		// loading a large file).
		decode = func() error { return decodeStrictBytes(data, &f, nil) }
	}
	if err := decode(); err != nil {
		return nil, fmt.Errorf("issuer: config: %v", err)
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	if dir != "" {
		for i := range f.Issuers {
			f.Issuers[i].resolvePaths(dir)
		}
	}
	return &f, nil
}

// decodeStrict decodes n into dst rejecting unknown keys. yaml.Node.Decode
// has no strict mode, so the node goes through the encoder once.
func decodeStrict(n *yaml.Node, dst any) error {
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	return decodeStrictBytes(b, dst, func() map[int]int { return lineMap(n, b) })
}

// decodeStrictBytes decodes the YAML document b into dst rejecting
// unknown keys. lines, when not nil, maps b's line numbers in errors to
// the file's.
func decodeStrictBytes(b []byte, dst any, lines func() map[int]int) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(dst); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			// One line per error, joined: the command prints errors as
			// one line.
			msgs := te.Errors
			if lines != nil {
				// yaml's line numbers refer to the re-encoded node: map
				// them back to the file's.
				m := lines()
				msgs = make([]string, len(te.Errors))
				for i, msg := range te.Errors {
					msgs[i] = lineNumber.ReplaceAllStringFunc(msg, func(prefix string) string {
						var l int
						fmt.Sscanf(prefix, "line %d:", &l)
						if orig, ok := m[l]; ok {
							return fmt.Sprintf("line %d: ", orig)
						}
						return ""
					})
				}
			}
			return errors.New(strings.Join(msgs, "; "))
		}
		return err
	}
	return nil
}

// lineNumber matches the "line N: " prefix of yaml's messages.
var lineNumber = regexp.MustCompile(`^line \d+: `)

// lineMap maps the lines of encoded, the re-encoding of n, to the lines n
// has in the file it was parsed from: both trees have the same shape.
func lineMap(n *yaml.Node, encoded []byte) map[int]int {
	var re yaml.Node
	if yaml.Unmarshal(encoded, &re) != nil {
		return nil
	}
	m := make(map[int]int)
	var walk func(a, b *yaml.Node)
	walk = func(a, b *yaml.Node) {
		if a == nil || b == nil {
			return
		}
		if b.Line > 0 && a.Line > 0 {
			if _, seen := m[b.Line]; !seen {
				m[b.Line] = a.Line
			}
		}
		for i := 0; i < len(a.Content) && i < len(b.Content); i++ {
			walk(a.Content[i], b.Content[i])
		}
	}
	b := &re
	if b.Kind == yaml.DocumentNode && n.Kind != yaml.DocumentNode && len(b.Content) == 1 {
		b = b.Content[0]
	}
	walk(n, b)
	return m
}

// validate checks the top level and every issuer.
func (f *File) validate() error {
	switch {
	case f.Leeway < 0:
		return errors.New("issuer: config: leeway: negative")
	case f.Leeway > time.Hour:
		return errors.New("issuer: config: leeway: more than 1h")
	case f.MaxTokenBytes < 0:
		return errors.New("issuer: config: max_token_bytes: negative")
	case f.TokenCache.Size != nil && *f.TokenCache.Size < 0:
		return errors.New("issuer: config: token_cache.size: negative")
	case f.DPoPProofs.MaxAge < 0 || f.DPoPProofs.MaxAge > time.Hour:
		return errors.New("issuer: config: dpop_proofs.max_age: negative or more than 1h")
	case f.DPoPProofs.ReplayCacheSize < 0:
		return errors.New("issuer: config: dpop_proofs.replay_cache_size: negative")
	case f.DPoPProofs.ReplayPerKey < 0:
		return errors.New("issuer: config: dpop_proofs.replay_per_key: negative")
	case f.Issuers == nil:
		// An explicit "issuers: []" is allowed: the issuers may come from
		// elsewhere (serve's issuers_dir, a Resolver).
		return errors.New("issuer: config: issuers: missing (write issuers: [] for none)")
	}
	if err := checkStoreURL(f.DPoPProofs.Store); err != nil {
		return err
	}
	if err := dpop.CheckAlgorithms(f.DPoPProofs.Algorithms); err != nil {
		return fmt.Errorf("issuer: config: dpop_proofs.%w", err)
	}
	if _, err := validateAll(f.Issuers); err != nil {
		return fmt.Errorf("issuer: config: %w", err)
	}
	return nil
}

// options returns base with the file's settings applied: leeway,
// max_token_bytes, token_cache.size and dpop_proofs.
func (f *File) options(base Options) Options {
	if f.Leeway > 0 {
		base.Leeway = f.Leeway
	}
	if f.MaxTokenBytes > 0 {
		base.MaxTokenBytes = f.MaxTokenBytes
	}
	if d := f.DPoPProofs; d.MaxAge > 0 {
		base.DPoP.MaxAge = d.MaxAge
	}
	if d := f.DPoPProofs; len(d.Algorithms) > 0 {
		base.DPoP.Algorithms = slices.Clone(d.Algorithms)
	}
	if d := f.DPoPProofs; d.ReplayCacheSize > 0 {
		base.DPoP.ReplayCacheSize = d.ReplayCacheSize
	}
	if d := f.DPoPProofs; d.ReplayPerKey > 0 {
		base.DPoP.ReplayPerKey = d.ReplayPerKey
	}
	if s := f.TokenCache.Size; s != nil {
		base.TokenCacheSize = *s
		if *s == 0 {
			base.TokenCacheSize = -1
		}
	}
	return base
}

// NewFromFile builds a registry from a loaded file: its issuers, with base
// and the file's leeway, max_token_bytes, token_cache and dpop_proofs
// settings (each overrides base's when set). base supplies what a file
// cannot (clock, logger, key cache, hooks).
func NewFromFile(f *File, base Options) (*Registry, error) {
	return New(f.options(base), f.Issuers...)
}

// expandEnv replaces ${VAR} in every scalar value under n.
func expandEnv(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "$") {
		v, err := expand(n.Value)
		if err != nil {
			return fmt.Errorf("issuer: config: line %d: %v", n.Line, err)
		}
		if v != n.Value {
			n.Value = v
			if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
				// A plain ${VAR} takes the type its value spells
				// (prefetch: ${PREFETCH} → bool).
				n.Tag = ""
			}
		}
	}
	for _, c := range n.Content {
		if err := expandEnv(c); err != nil {
			return err
		}
	}
	return nil
}

// expand substitutes ${VAR} from the environment; $$ is a literal $ and a
// $ followed by anything else is kept.
func expand(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", fmt.Errorf("unterminated ${ in %.64q", s)
			}
			name := s[i+2 : i+2+end]
			if !validEnvName(name) {
				return "", fmt.Errorf("bad variable name %.64q", name)
			}
			v, ok := os.LookupEnv(name)
			if !ok {
				return "", fmt.Errorf("environment variable %s is not set", name)
			}
			b.WriteString(v)
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String(), nil
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if c != '_' && !('A' <= c && c <= 'Z') && !('a' <= c && c <= 'z') && !(i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
