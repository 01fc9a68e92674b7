package jwt

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tenantjwt/tenantjwt"
)

func TestParseObject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want map[string]string // member name → raw value; nil means an error
	}{
		{"empty", `{}`, map[string]string{}},
		{"spaces everywhere", " {\t\"a\" : 1 ,\n\"b\":\r\"x\" } ", map[string]string{"a": "1", "b": `"x"`}},
		{"nested values", `{"a":{"b":[1,{"c":"}"}]},"d":[]}`, map[string]string{"a": `{"b":[1,{"c":"}"}]}`, "d": `[]`}},
		{"escaped quote and brace in a string", `{"a":"x\"}{","b":true}`, map[string]string{"a": `"x\"}{"`, "b": "true"}},
		{"escaped name", `{"i\u0073s":"x"}`, map[string]string{"iss": `"x"`}},
		{"literals and numbers", `{"a":null,"b":false,"c":-1.5e3}`, map[string]string{"a": "null", "b": "false", "c": "-1.5e3"}},
		{"duplicate", `{"a":1,"a":2}`, nil},
		{"duplicate through an escape", `{"iss":"a","i\u0073s":"b"}`, nil},
		{"not an object", `[]`, nil},
		{"trailing garbage", `{"a":1}x`, nil},
		{"trailing comma", `{"a":1,}`, nil},
		{"single quotes", `{'a':1}`, nil},
		{"unterminated", `{"a":"`, nil},
		{"empty input", ``, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := ParseObject([]byte(tt.in), "payload")
			if tt.want == nil {
				if !errors.Is(err, tenantjwt.ErrMalformed) {
					t.Fatalf("ParseObject(%q) = %v, %v; want ErrMalformed", tt.in, obj, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseObject(%q): %v", tt.in, err)
			}
			got := map[string]string{}
			for _, m := range obj.Members() {
				got[m.Name] = string(m.Val)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("members = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("member %q = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestDuplicatesInLargeObject(t *testing.T) {
	t.Parallel()
	b := []byte{'{'}
	for i := range 100 {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `"k`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `":1`...)
	}
	b = append(b, '}')
	if _, err := ParseObject(b, "payload"); err != nil {
		t.Fatalf("100 distinct members: %v", err)
	}
	b = append(b[:len(b)-1], `,"k42":2}`...)
	if _, err := ParseObject(b, "payload"); !errors.Is(err, tenantjwt.ErrMalformed) {
		t.Fatalf("101 members with one duplicate: err = %v, want ErrMalformed", err)
	}
}

func TestNestedDuplicatesRefused(t *testing.T) {
	t.Parallel()
	// I-JSON (RFC 7493 §2.3) at every depth: the mapping and DecodeClaims
	// could otherwise read different roles members.
	if c, err := NewClaims([]byte(`{"tenants":{"t1":{"roles":["user"],"roles":["admin"]}}}`)); !errors.Is(err, tenantjwt.ErrMalformed) {
		t.Fatalf("NewClaims = %v, %v; want ErrMalformed", c, err)
	}
}

func TestStringValueFastPathAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`"plain"`, `""`, `"caf\u00e9"`, `"tab\there"`, "\"caf\xc3\xa9\"",
		`"quote \" inside"`, `"slash \/"`, ` "padded" `, `"\ud83d\ude00"`,
	} {
		var want string
		wantErr := json.Unmarshal([]byte(in), &want)
		got, err := StringValue(json.RawMessage(in))
		if (err != nil) != (wantErr != nil) || got != want {
			t.Errorf("StringValue(%q) = %q, %v; encoding/json gives %q, %v", in, got, err, want, wantErr)
		}
	}
}

// TestStringValueRefusesWhatIsNotIJSON: encoding/json would give U+FFFD
// for each of these, making distinct signed values equal.
func TestStringValueRefusesWhatIsNotIJSON(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"\"bad \xff utf8\"", `"\ud800"`, `"\udfff"`, "\"\xed\xa0\x80\"", `"\ud800\u0041"`} {
		if got, err := StringValue(json.RawMessage(in)); !errors.Is(err, tenantjwt.ErrClaims) {
			t.Errorf("StringValue(%q) = %q, %v; want ErrClaims", in, got, err)
		}
		if got, err := StringList(json.RawMessage("[" + in + "]")); !errors.Is(err, tenantjwt.ErrClaims) {
			t.Errorf("StringList([%q]) = %q, %v; want ErrClaims", in, got, err)
		}
	}
}

func TestListsRejectInvalidJSON(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`["a",]`, `["a" "b"]`, `{"a":1,}`, `"unterminated`} {
		for name, f := range map[string]func(json.RawMessage) ([]string, error){
			"StringList": StringList, "ScopeList": ScopeList, "TenantList": TenantList,
		} {
			if got, err := f(json.RawMessage(in)); !errors.Is(err, tenantjwt.ErrClaims) {
				t.Errorf("%s(%q) = %q, %v; want ErrClaims", name, in, got, err)
			}
		}
	}
}

// FuzzObject checks the scanner against encoding/json: for every input that
// encoding/json reads as an object, ParseObject must give the same members
// (or refuse duplicates), and lists must decode to the same strings.
func FuzzObject(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1}`, `{"a":"x\"}","b":[1,{"c":"]"}]}`, `{"i\u0073s":"x","iss":"y"}`,
		`{"roles":["a","b\u0000",""],"t":{"x":{"roles":["r"]}}}`, "{\"\xff\":1}", `{"a":[ "x" , "y" ]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		obj, err := ParseObject(b, "payload")
		var m map[string]json.RawMessage
		if json.Unmarshal(b, &m) != nil || m == nil {
			if err == nil {
				t.Fatalf("ParseObject accepted %q, which encoding/json does not read as an object", b)
			}
			return
		}
		if err != nil {
			// Refused: it must be because b is not I-JSON (FuzzIJSON
			// checks that against a reference).
			if CheckJSON(b) == nil {
				t.Fatalf("ParseObject(%q) refused I-JSON: %v", b, err)
			}
			return
		}
		if len(obj.Members()) != len(m) {
			t.Fatalf("ParseObject(%q) has %d members, encoding/json %d", b, len(obj.Members()), len(m))
		}
		for _, mem := range obj.Members() {
			want, ok := m[mem.Name]
			if !ok || string(mem.Val) != string(want) {
				t.Fatalf("member %q = %q, encoding/json has %q (present %v)", mem.Name, mem.Val, want, ok)
			}
			checkList(t, mem.Val)
		}
	})
}

// checkList compares stringList with encoding/json on one valid value: an
// array whose elements are all strings must decode to the same strings,
// and anything else must be refused.
func checkList(t *testing.T, v []byte) {
	got, err := DecodeStringList(v)
	var elems []json.RawMessage
	allStrings := json.Unmarshal(v, &elems) == nil && elems != nil
	for _, e := range elems {
		allStrings = allStrings && FirstByte(e) == '"'
	}
	if !allStrings {
		if err == nil {
			t.Fatalf("DecodeStringList(%q) = %q, want an error", v, got)
		}
		return
	}
	var want []string
	if jerr := json.Unmarshal(v, &want); jerr != nil || err != nil || !slices.Equal(got, want) {
		t.Fatalf("DecodeStringList(%q) = %q, %v; encoding/json %q, %v", v, got, err, want, jerr)
	}
}

// FuzzWordScans checks the eight-bytes-at-a-time scanners against the
// plain byte loops they stand for, at every start offset.
func FuzzWordScans(f *testing.F) {
	for _, s := range []string{
		``, `"`, `abcdefgh"`, `abcdefghijklmnopqrstuvwxyz0123456789"x`, "abc\x1fdefgh", "abcdefg\x80hij",
		`abcdefg\"hijklmnop`, "\x00\x00\x00\x00\x00\x00\x00\"", "\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x20", strings.Repeat("a", 70) + `"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for i := 0; i <= len(b); i++ {
			want := bytes.IndexByte(b[i:], '"')
			if want >= 0 {
				want += i
			}
			if got := indexQuote(b, i); got != want {
				t.Fatalf("indexQuote(%q, %d) = %d, want %d", b, i, got, want)
			}
			run := plainRun(b, i)
			if run < i || run > len(b) || (run-i)%8 != 0 {
				t.Fatalf("plainRun(%q, %d) = %d: not whole words from i", b, i, run)
			}
			for j := i; j < run; j++ {
				if !plainByte[b[j]] {
					t.Fatalf("plainRun(%q, %d) = %d skips byte %#x at %d", b, i, run, b[j], j)
				}
			}
			if run+8 <= len(b) {
				allPlain := true
				for _, c := range b[run : run+8] {
					allPlain = allPlain && plainByte[c]
				}
				if allPlain {
					t.Fatalf("plainRun(%q, %d) = %d stops before a plain word", b, i, run)
				}
			}
		}
	})
}

// FuzzLookupPath checks the lookups that use the listing CheckJSON makes
// (LookupPath, TenantList) against scanning the raw values: for every
// member down to the third level, LookupPath finds the value LookupMember
// finds step by step, and TenantList the names DecodeTenantList reads.
func FuzzLookupPath(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":{"b":{"c":1}}}`, `{"t":{"x":{"roles":["r"]},"y":[{"z":1}],"w":{}},"roles":null}`,
		`{"a":[{"b":1},{"c":{"d":2}}],"e":{"f":[{"g":3}],"h":4}}`, `{"i\u0073s":{"k\u0065y":"v"},"n":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := NewClaims(b)
		if err != nil {
			return
		}
		var walk func(segs []segment, raw []byte)
		walk = func(segs []segment, raw []byte) {
			if len(segs) > 3 || FirstByte(raw) != '{' {
				return
			}
			EachMember(raw, func(name, val []byte) error {
				path := Path{src: "fuzz", segs: append(slices.Clone(segs), segment{key: DecodeName(name)})}
				got, found, err := c.LookupPath(path, "")
				if want := !IsNull(val); err != nil || found != want || (found && !bytes.Equal(got, val)) {
					t.Fatalf("LookupPath(%v) in %q = %q, %v, %v; the scan has %q", path.segs, b, got, found, err, val)
				}
				if FirstByte(val) == '{' {
					names, found, err := c.TenantList(path)
					want, werr := DecodeTenantList(val)
					if !found || err != nil || werr != nil || !slices.Equal(names, want) {
						t.Fatalf("TenantList(%v) in %q = %q, %v, %v; DecodeTenantList %q, %v", path.segs, b, names, found, err, want, werr)
					}
				}
				walk(path.segs, val)
				return nil
			})
		}
		walk(nil, b)
	})
}

// TestDecodeStringListLengths runs checkList (DecodeStringList against
// encoding/json) on arrays around the length DecodeStringList notes
// elements for in its first pass, with an escaped element and a
// non-string one.
func TestDecodeStringListLengths(t *testing.T) {
	for _, n := range []int{0, 1, 15, 16, 17, 40} {
		for _, last := range []string{`"plain"`, `"t\u00e9nant"`, `7`} {
			elems := make([]string, n)
			for i := range elems {
				elems[i] = `"r` + strconv.Itoa(i) + `"`
			}
			if n > 0 {
				elems[n-1] = last
			}
			checkList(t, []byte("["+strings.Join(elems, ", ")+"]"))
		}
	}
}
