package jwt

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/tenantjwt/tenantjwt"
)

// refIJSON is the strict reference CheckJSON is fuzzed against. It is
// built from independent parts: json.Valid for the grammar, utf8.Valid for
// the encoding (outside strings valid JSON is ASCII), a regular expression
// over the escapes for surrogates, and encoding/json's token stream with
// strings.EqualFold for the member names and limits. It returns the
// top-level member names of an object.
func refIJSON(b []byte) (names []string, ok bool) {
	if !json.Valid(b) || !utf8.Valid(b) || loneSurrogate(b) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var stack []*refLevel
	members := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return names, true
		}
		if err != nil {
			return nil, false
		}
		var top *refLevel
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.wantKey {
			if d, isDelim := tok.(json.Delim); isDelim && d == '}' {
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					names = top.keys
				}
				markValue(stack)
				continue
			}
			k := tok.(string)
			for _, prev := range top.keys {
				if strings.EqualFold(prev, k) {
					return nil, false
				}
			}
			if members++; members > MaxJSONMembers {
				return nil, false
			}
			top.keys = append(top.keys, k)
			top.wantKey = false
			continue
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if len(stack) >= MaxJSONDepth {
				return nil, false
			}
			stack = append(stack, &refLevel{object: tok == json.Delim('{'), wantKey: true})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			markValue(stack)
		default:
			markValue(stack)
		}
	}
}

// refLevel is an open object or array of refIJSON.
type refLevel struct {
	object  bool
	wantKey bool // the next token of an object is a name or '}'
	keys    []string
}

// markValue records that the innermost object got a member's value.
func markValue(stack []*refLevel) {
	if n := len(stack); n > 0 && stack[n-1].object {
		stack[n-1].wantKey = true
	}
}

var escapeRE = regexp.MustCompile(`\\(u[0-9a-fA-F]{4}|.)`)

// loneSurrogate reports a \u escape of a surrogate that is not a high one
// immediately followed by a low one.
func loneSurrogate(b []byte) bool {
	ms := escapeRE.FindAllIndex(b, -1)
	for i := 0; i < len(ms); i++ {
		r := surrogate(b, ms[i])
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return true
		case r >= 0xD800 && r <= 0xDBFF:
			if i+1 == len(ms) || ms[i+1][0] != ms[i][1] {
				return true
			}
			if lo := surrogate(b, ms[i+1]); lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i++
		}
	}
	return false
}

func surrogate(b []byte, m []int) int64 {
	if m[1]-m[0] != 6 {
		return -1
	}
	v, _ := strconv.ParseInt(string(b[m[0]+2:m[1]]), 16, 32)
	return v
}

// FuzzIJSON is the differential test of the UTF-8 and member-name rules:
// CheckJSON accepts exactly what the strict reference accepts, and for an
// object ParseObject lists the reference's top-level names.
func FuzzIJSON(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1}`, `{"a":"x\"}","b":[1,{"c":"]"}]}`, `{"i\u0073s":"x","iss":"y"}`,
		`{"sub":"a","SUB":"b"}`, `{"o":{"id":"a","ID":"b"}}`, `{"k":1,"\u212a":2}`, `{"s":1,"\u017f":2}`,
		`{"roles":["a","b\u0000",""],"t":{"x":{"roles":["r"]}}}`, "{\"\xff\":1}", "{\"a\":\"\xed\xa0\x80\"}",
		`{"a":"\ud800"}`, `{"a":"\udc00"}`, `{"a":"\ud83d\ude00"}`, `{"a":"\\ud800"}`, `{"a":"\ud800\\"}`,
		`{"a":"\ud800\u0041"}`, `[1,2,{"a":{"b":{"c":[[[[]]]]}}}]`, `-0.5e+3`, `"x"`, ` null `,
		strings.Repeat(`[`, 17) + strings.Repeat(`]`, 17),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := CheckJSON(b)
		if err != nil && !errors.Is(err, ErrNotIJSON) {
			t.Fatalf("CheckJSON(%q) = %v, not ErrNotIJSON", b, err)
		}
		names, ok := refIJSON(b)
		if (err == nil) != ok {
			t.Fatalf("CheckJSON(%q) = %v; the reference accepts: %v", b, err, ok)
		}
		if !ok || FirstByte(b) != '{' {
			return
		}
		obj, perr := ParseObject(b, "payload")
		if perr != nil {
			t.Fatalf("ParseObject(%q) = %v after CheckJSON accepted", b, perr)
		}
		var got []string
		for _, m := range obj.Members() {
			got = append(got, m.Name)
			if v, found, err := LookupMember(b, m.Name); err != nil || !found || !bytes.Equal(v, m.Val) {
				t.Fatalf("LookupMember(%q) = %q, %v, %v; ParseObject has %q", m.Name, v, found, err, m.Val)
			}
		}
		if !slices.Equal(got, names) {
			t.Fatalf("ParseObject(%q) names %q, the reference %q", b, got, names)
		}
	})
}

func TestCheckJSON(t *testing.T) {
	t.Parallel()
	deep := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	many := func(n int) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`"m` + strconv.Itoa(i) + `":0`)
		}
		return b.String() + "}"
	}
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"plain", `{"sub":"a","roles":["x","y"],"n":-1.5e3,"t":true,"f":false,"z":null}`, true},
		{"paired surrogate escape", `{"sub":"\ud83d\ude00"}`, true},
		{"non-ASCII", `{"sub":"café","名前":"x"}`, true},
		{"escaped backslash before u", `{"sub":"\\ud800"}`, true},
		{"different names", `{"sub":"a","subject":"b"}`, true},
		{"invalid UTF-8 in a value", "{\"sub\":\"a\xffb\"}", false},
		{"invalid UTF-8 in a name", "{\"s\xc3\":1}", false},
		{"encoded surrogate (CESU-8)", "{\"sub\":\"\xed\xa0\x80\"}", false},
		{"overlong encoding", "{\"sub\":\"\xc0\xaf\"}", false},
		{"lone high surrogate escape", `{"sub":"\ud800"}`, false},
		{"lone low surrogate escape", `{"sub":"\udc00"}`, false},
		{"high then non-surrogate", `{"sub":"\ud800\u0041"}`, false},
		{"reversed pair", `{"sub":"\ude00\ud83d"}`, false},
		{"high at the end", `{"sub":"a\ud800"}`, false},
		{"duplicate", `{"sub":"a","sub":"b"}`, false},
		{"duplicate through an escape", `{"sub":"a","s\u0075b":"b"}`, false},
		{"names differing in case", `{"sub":"a","SUB":"b"}`, false},
		{"kelvin sign folds to k", `{"kid":"a","\u212aid":"b"}`, false},
		{"long s folds to s", `{"sub":"a","\u017fub":"b"}`, false},
		{"nested case collision", `{"o":{"id":"a","ID":"b"}}`, false},
		{"collision in an object of many members", many(40)[:len(many(40))-1] + `,"M7":1}`, false},
		{"many members, no collision", many(40), true},
		{"member cap", many(MaxJSONMembers + 1), false},
		{"member cap reached", many(MaxJSONMembers), true},
		{"depth cap", deep(MaxJSONDepth + 1), false},
		{"depth cap reached", deep(MaxJSONDepth), true},
		{"control character", "{\"sub\":\"a\tb\"}", false},
		{"leading zero", `{"n":01}`, false},
		{"trailing data", `{} {}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckJSON([]byte(tt.in))
			if (err == nil) != tt.ok {
				t.Fatalf("CheckJSON(%.80q) = %v, want ok %v", tt.in, err, tt.ok)
			}
			if _, ref := refIJSON([]byte(tt.in)); ref != tt.ok {
				t.Fatalf("reference disagrees on %.80q: %v", tt.in, ref)
			}
			_, perr := NewClaims([]byte(tt.in))
			if tt.ok != (perr == nil) || perr != nil && !errors.Is(perr, tenantjwt.ErrMalformed) {
				t.Fatalf("NewClaims(%.80q) = %v", tt.in, perr)
			}
		})
	}
}

// TestFoldRune: the table agrees with strings.EqualFold (the equivalence
// encoding/json's name matching uses) on every rune: a rune and its fold
// are equal under folding, and runes without case fold to themselves.
func TestFoldRune(t *testing.T) {
	t.Parallel()
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if 0xD800 <= r && r <= 0xDFFF {
			continue
		}
		f := foldRune(r)
		if f != orbitMin(r) {
			t.Fatalf("foldRune(%U) = %U, want %U", r, f, orbitMin(r))
		}
		if !strings.EqualFold(string(r), string(f)) {
			t.Fatalf("foldRune(%U) = %U, which strings.EqualFold tells apart", r, f)
		}
	}
}
