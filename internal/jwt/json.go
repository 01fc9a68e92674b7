package jwt

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/tenantjwt/tenantjwt"
	"github.com/tenantjwt/tenantjwt/internal/pct"
)

// Token JSON (JOSE header, payload, DPoP proofs, and the claims a
// Principal hands out) must be I-JSON (RFC 7493), as RFC 8725 §3.7 asks:
// the JSON grammar of RFC 8259, UTF-8 only, no unpaired surrogate escapes,
// and no two members of one object with the same name. encoding/json
// accepts invalid UTF-8 and lone surrogates and silently turns them into
// U+FFFD, so distinct signed values would become one Principal value; it
// also matches struct fields case-insensitively, so {"sub":"a","SUB":"b"}
// decodes "b" into a Sub field. CheckJSON therefore refuses, at every
// depth, members whose names are equal under encoding/json's case folding
// (each rune replaced by the smallest rune of its unicode.SimpleFold
// orbit): whatever member the claim mapping reads by its exact name is then
// the only candidate DecodeClaims or a preset's decoder could pick.
//
// CheckJSON is the one validity check; it runs in one linear pass with no
// allocation for ordinary input and bounds nesting and member counts, so a
// hostile 16 KiB segment costs little before the signature is checked.
// After it, the small scanner below (EachMember, skipValue) only finds
// where members and elements begin and end on bytes known to be valid.

// Limits of token JSON, per segment (header, payload, proof).
const (
	// MaxJSONDepth caps the nesting of objects and arrays. Real tokens
	// nest three or four levels (tenants.<id>.roles).
	MaxJSONDepth = 16
	// MaxJSONMembers caps the object members of one segment, all levels
	// together.
	MaxJSONMembers = 1024
	// smallObject is the member count up to which name collisions are
	// found by comparing every pair of hashes; larger objects sort them.
	smallObject = 16
)

// ErrNotIJSON is wrapped by every refusal of CheckJSON.
var ErrNotIJSON = errors.New("not I-JSON")

// jsonError is a refusal by CheckJSON, with the offset of the offending
// byte.
type jsonError struct {
	off int
	msg string
}

func (e *jsonError) Error() string { return fmt.Sprintf("%s at offset %d", e.msg, e.off) }
func (e *jsonError) Unwrap() error { return ErrNotIJSON }

// nameRef is a member name of the object being checked.
type nameRef struct {
	hash       uint64 // fold hash of the decoded name
	start, end int32  // the raw name, quotes included
}

// jsonChecker holds the state of one CheckJSON pass.
type jsonChecker struct {
	b          []byte
	checkNames bool // apply the member-name rules
	members    int
	names      []nameRef   // a stack: the names of every open object
	list       bool        // list every member in refs, in document order
	refs       []memberRef // the members listed so far
}

// CheckJSON reports whether b is one I-JSON value (see above), with
// whitespace around it allowed. Errors wrap ErrNotIJSON.
func CheckJSON(b []byte) error { return check(b, true) }

// CheckJSONGrammar is CheckJSON without the member-name rules: grammar,
// UTF-8, surrogates, depth and member count only.
func CheckJSONGrammar(b []byte) error { return check(b, false) }

func check(b []byte, names bool) error {
	// The checker and the first array of its stack of names stay in this
	// frame: its methods grow the stack by hand (push) and store no
	// pointer to it elsewhere, so ordinary input costs no allocation.
	var scratch [2 * smallObject]nameRef
	c := jsonChecker{b: b, checkNames: names, names: scratch[:0]}
	return c.all()
}

// all checks that c.b is one value, with whitespace around it allowed.
func (c *jsonChecker) all() error {
	i, err := c.value(skipSpace(c.b, 0), 0)
	if err != nil {
		return err
	}
	if i = skipSpace(c.b, i); i != len(c.b) {
		return &jsonError{i, "data after the value"}
	}
	return nil
}

// checkMembers is CheckJSON that also returns where every member of b is,
// at every depth, when b is an object (none otherwise): the listing rides
// on the check's own pass, so reading a checked object's members, nested
// ones included, costs no second pass.
func checkMembers(b []byte) (Object, error) {
	// As in check; the first array of the listing stays in this frame too,
	// and the listing leaves as a copy of exactly its size: ordinary input
	// costs that one allocation.
	var scratch [2 * smallObject]nameRef
	var listed [2 * smallObject]memberRef
	c := jsonChecker{b: b, checkNames: true, names: scratch[:0], list: true, refs: listed[:0]}
	if err := c.all(); err != nil {
		return Object{}, err
	}
	if len(c.refs) == 0 || c.refs[0].depth != 1 {
		return Object{b: b}, nil // no members, or b is not an object
	}
	return Object{b: b, refs: slices.Clone(c.refs)}, nil
}

// value checks the value at b[i] and returns the index past it.
func (c *jsonChecker) value(i, depth int) (int, error) {
	b := c.b
	if i >= len(b) {
		return i, &jsonError{i, "value expected"}
	}
	switch b[i] {
	case '{':
		return c.object(i, depth+1)
	case '[':
		return c.array(i, depth+1)
	case '"':
		end, _, err := c.str(i, false)
		return end, err
	case 't':
		return c.literal(i, "true")
	case 'f':
		return c.literal(i, "false")
	case 'n':
		return c.literal(i, "null")
	}
	return c.number(i)
}

func (c *jsonChecker) literal(i int, lit string) (int, error) {
	if !bytes.HasPrefix(c.b[i:], []byte(lit)) {
		return i, &jsonError{i, "invalid literal"}
	}
	return i + len(lit), nil
}

// number checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (c *jsonChecker) number(i int) (int, error) {
	b, start := c.b, i
	digits := func() bool {
		j := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return start, &jsonError{start, "invalid value"}
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return start, &jsonError{start, "invalid number"}
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return start, &jsonError{start, "invalid number"}
		}
	}
	return i, nil
}

func (c *jsonChecker) array(i, depth int) (int, error) {
	if depth > MaxJSONDepth {
		return i, &jsonError{i, fmt.Sprintf("nested deeper than %d", MaxJSONDepth)}
	}
	b := c.b
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		if i, err = c.value(i, depth); err != nil {
			return i, err
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return i, &jsonError{i, "unterminated array"}
		}
		switch b[i] {
		case ']':
			return i + 1, nil
		case ',':
			i = skipSpace(b, i+1)
		default:
			return i, &jsonError{i, "',' or ']' expected"}
		}
	}
}

func (c *jsonChecker) object(i, depth int) (int, error) {
	if depth > MaxJSONDepth {
		return i, &jsonError{i, fmt.Sprintf("nested deeper than %d", MaxJSONDepth)}
	}
	b := c.b
	base := len(c.names)
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, &jsonError{i, "member name expected"}
		}
		if c.members++; c.members > MaxJSONMembers {
			return i, &jsonError{i, fmt.Sprintf("more than %d members", MaxJSONMembers)}
		}
		end, h, err := c.str(i, c.checkNames)
		if err != nil {
			return end, err
		}
		if c.checkNames {
			c.push(nameRef{hash: h, start: int32(i), end: int32(end)})
		}
		start := i
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return i, &jsonError{i, "':' expected"}
		}
		val := skipSpace(b, i+1)
		k := c.listMember(start, end, val, depth)
		if i, err = c.value(val, depth); err != nil {
			return i, err
		}
		c.listed(k, i)
		i = skipSpace(b, i)
		if i >= len(b) {
			return i, &jsonError{i, "unterminated object"}
		}
		switch b[i] {
		case '}':
			if !c.checkNames {
				return i + 1, nil
			}
			err := c.collisions(c.names[base:])
			c.names = c.names[:base]
			return i + 1, err
		case ',':
			i = skipSpace(b, i+1)
		default:
			return i, &jsonError{i, "',' or '}' expected"}
		}
	}
}

// push adds n to the stack of names. It grows the stack by hand, not with
// append, which would let the checker and its first array escape to the
// heap on every call.
func (c *jsonChecker) push(n nameRef) {
	if len(c.names) == cap(c.names) {
		grown := make([]nameRef, len(c.names), 2*cap(c.names))
		copy(grown, c.names)
		c.names = grown
	}
	c.names = c.names[:len(c.names)+1]
	c.names[len(c.names)-1] = n
}

// listMember lists the member whose name is b[start:end] and whose value
// starts at val, when c lists members, and returns its index (-1 when not
// listing). listed completes it once its value is checked.
func (c *jsonChecker) listMember(start, end, val, depth int) int {
	if !c.list {
		return -1
	}
	return c.pushMember(memberRef{
		name: int32(start), nameEnd: int32(end), val: int32(val), depth: int32(depth),
		prefix: namePrefix(c.b[start+1 : end-1]), esc: bytes.IndexByte(c.b[start:end], '\\') >= 0,
	})
}

// listed records where the value of listed member k ends; the members
// inside it, if any, were listed after it.
func (c *jsonChecker) listed(k, valEnd int) {
	if k >= 0 {
		r := &c.refs[k]
		r.valEnd, r.after = int32(valEnd), int32(len(c.refs))
	}
}

// pushMember adds m to the listed members, growing them by hand as push
// does, and returns its index.
func (c *jsonChecker) pushMember(m memberRef) int {
	if len(c.refs) == cap(c.refs) {
		grown := make([]memberRef, len(c.refs), 2*cap(c.refs))
		copy(grown, c.refs)
		c.refs = grown
	}
	c.refs = c.refs[:len(c.refs)+1]
	c.refs[len(c.refs)-1] = m
	return len(c.refs) - 1
}

// collisions refuses two names of one object that are equal, exactly or
// under case folding. Equal fold hashes are confirmed on the folded names,
// so a hash collision never refuses a good object; the hash is seeded per
// process, so collisions cannot be built, and even a run of them costs
// n log n.
func (c *jsonChecker) collisions(names []nameRef) error {
	if len(names) <= smallObject {
		for i := range names {
			for j := i + 1; j < len(names); j++ {
				if names[i].hash == names[j].hash && c.fold(names[i]) == c.fold(names[j]) {
					return c.collision(names[i], names[j])
				}
			}
		}
		return nil
	}
	slices.SortFunc(names, func(x, y nameRef) int { return cmp.Compare(x.hash, y.hash) })
	for i := 0; i < len(names); {
		j := i + 1
		for j < len(names) && names[j].hash == names[i].hash {
			j++
		}
		if j-i > 1 {
			run := names[i:j]
			slices.SortFunc(run, func(x, y nameRef) int { return strings.Compare(c.fold(x), c.fold(y)) })
			for k := 1; k < len(run); k++ {
				if c.fold(run[k]) == c.fold(run[k-1]) {
					return c.collision(run[k-1], run[k])
				}
			}
		}
		i = j
	}
	return nil
}

func (c *jsonChecker) collision(x, y nameRef) error {
	a, b := DecodeName(c.b[x.start:x.end]), DecodeName(c.b[y.start:y.end])
	if x.start > y.start {
		x = y
	}
	if a == b {
		return &jsonError{int(x.start), fmt.Sprintf("duplicate member %.64q", a)}
	}
	return &jsonError{int(x.start), fmt.Sprintf("members %.64q and %.64q differ only in case", a, b)}
}

// fold returns the folded name of n. It runs only for names whose hashes
// are equal, which in practice means a real collision.
func (c *jsonChecker) fold(n nameRef) string {
	return foldName(DecodeName(c.b[n.start:n.end]))
}

// plainByte marks the bytes that a string may contain as they are and
// that are ASCII: all but controls, '"', '\\' and bytes >= 0x80.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str checks the string at b[i] and returns the index past it and, for a
// member name, the fold hash of its content.
func (c *jsonChecker) str(i int, name bool) (int, uint64, error) {
	if name {
		return c.name(i)
	}
	b := c.b
	for i++; i < len(b); {
		// A run of bytes that need no escape: ASCII checked byte by byte,
		// the rest by utf8.Valid, which is fast on long runs.
		// Whole words of plain ASCII first, when the run starts with a
		// plain byte (not in a row of escapes).
		j, ascii := i, true
		if j < len(b) && plainByte[b[j]] {
			j = plainRun(b, j)
		}
		for j < len(b) && (plainByte[b[j]] || b[j] >= utf8.RuneSelf) {
			ascii = ascii && b[j] < utf8.RuneSelf
			j++
		}
		if !ascii && !utf8.Valid(b[i:j]) {
			for i < j {
				r, n := utf8.DecodeRune(b[i:j])
				if r == utf8.RuneError && n <= 1 {
					break
				}
				i += n
			}
			return i, 0, &jsonError{i, "invalid UTF-8"}
		}
		if i = j; i >= len(b) {
			break
		}
		switch ch := b[i]; {
		case ch == '"':
			return i + 1, 0, nil
		case ch == '\\':
			_, n, err := escape(b, i)
			if err != nil {
				return i, 0, err
			}
			i += n
		default:
			return i, 0, &jsonError{i, "control character in a string"}
		}
	}
	return i, 0, &jsonError{i, "unterminated string"}
}

// name is str for a member name: it also computes the fold hash.
func (c *jsonChecker) name(i int) (int, uint64, error) {
	b := c.b
	h := hashSeed
	var table []uint32 // the fold table, loaded at the first non-ASCII rune
	for i++; i < len(b); {
		ch := b[i]
		var r rune
		switch {
		case plainByte[ch]:
			if 'a' <= ch && ch <= 'z' {
				ch -= 'a' - 'A'
			}
			h = (h ^ uint64(ch)) * fnvPrime
			h *= fnvPrime // as foldHash of a rune below 0x100
			i++
			continue
		case ch == '"':
			return i + 1, h, nil
		case ch < 0x20:
			return i, 0, &jsonError{i, "control character in a string"}
		case ch == '\\':
			var n int
			var err error
			if r, n, err = escape(b, i); err != nil {
				return i, 0, err
			}
			i += n
		default:
			var n int
			if r, n = utf8.DecodeRune(b[i:]); r == utf8.RuneError && n <= 1 {
				return i, 0, &jsonError{i, "invalid UTF-8"}
			}
			i += n
		}
		switch {
		case r < utf8.RuneSelf:
			r = foldRune(r)
		case r < foldTableRunes:
			if table == nil {
				table = foldTable()
			}
			r = rune(table[r])
		}
		h = (h ^ uint64(r&0xff)) * fnvPrime
		h = (h ^ uint64(r>>8)) * fnvPrime
	}
	return i, 0, &jsonError{i, "unterminated string"}
}

// escape decodes the escape sequence at b[i] (a backslash): the rune and
// the bytes it spans. A surrogate escape must be a high one followed by a
// low one.
func escape(b []byte, i int) (rune, int, error) {
	if i+1 >= len(b) {
		return 0, 0, &jsonError{i, "unterminated string"}
	}
	switch b[i+1] {
	case '"', '\\', '/':
		return rune(b[i+1]), 2, nil
	case 'b':
		return '\b', 2, nil
	case 'f':
		return '\f', 2, nil
	case 'n':
		return '\n', 2, nil
	case 'r':
		return '\r', 2, nil
	case 't':
		return '\t', 2, nil
	case 'u':
	default:
		return 0, 0, &jsonError{i, "invalid escape"}
	}
	r, ok := hex4(b, i+2)
	if !ok {
		return 0, 0, &jsonError{i, "invalid \\u escape"}
	}
	switch {
	case 0xDC00 <= r && r <= 0xDFFF:
		return 0, 0, &jsonError{i, "unpaired low surrogate escape"}
	case 0xD800 <= r && r <= 0xDBFF:
		lo, ok := rune(0), i+7 < len(b) && b[i+6] == '\\' && b[i+7] == 'u'
		if ok {
			lo, ok = hex4(b, i+8)
		}
		if !ok || lo < 0xDC00 || lo > 0xDFFF {
			return 0, 0, &jsonError{i, "unpaired high surrogate escape"}
		}
		return 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00), 12, nil
	}
	return r, 6, nil
}

// hex4 reads four hex digits at b[i].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, ch := range b[i : i+4] {
		d, ok := pct.Unhex(ch)
		if !ok {
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

// The fold hash is FNV-1a over the folded runes of a name, from a
// per-process random basis so that inputs cannot be built to collide;
// equal hashes are confirmed on the folded names anyway.
const fnvPrime = 1099511628211

var hashSeed = rand.Uint64()

// foldRune maps r to the smallest rune of its unicode.SimpleFold orbit,
// the case folding encoding/json applies to member names ("k", "K" and
// U+212A KELVIN SIGN fold alike). Runes past ASCII are looked up in a
// table built on first use: walking SimpleFold orbits costs about 30 ns a
// rune, too much for a hostile 16 KiB segment of non-ASCII names.
func foldRune(r rune) rune {
	switch {
	case r < utf8.RuneSelf:
		if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		}
		return r
	case r < foldTableRunes:
		return rune(foldTable()[r])
	}
	// Planes 2 and above have no case.
	return r
}

// foldTableRunes is the number of runes foldTable covers: planes 0 and 1,
// where every cased letter lies; a rune there folds to one there.
const foldTableRunes = 0x20000

// foldTable maps each rune below foldTableRunes to its fold (256 KiB,
// about 2 ms to build, once per process and only for non-ASCII names).
var foldTable = sync.OnceValue(func() []uint32 {
	t := make([]uint32, foldTableRunes)
	for r := range rune(foldTableRunes) {
		t[r] = uint32(orbitMin(r))
	}
	return t
})

// orbitMin is the smallest rune of r's unicode.SimpleFold orbit.
func orbitMin(r rune) rune {
	min := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < min {
			min = f
		}
	}
	return min
}

// foldName folds every rune of s.
func foldName(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = utf8.AppendRune(b, foldRune(r))
	}
	return string(b)
}

// Object is a JSON object that passed CheckJSON, with where each of its
// members is, at every depth: reading a member, or a member of a member,
// needs neither a second pass nor a decoded copy of its name.
type Object struct {
	b    []byte
	refs []memberRef // every member, in document order
}

// memberRef locates one member of an Object in its JSON. The members of
// an object-valued member follow it in refs, up to after; its own members
// are the first of them and, from each, the next at after.
type memberRef struct {
	name, nameEnd int32  // the name as written, quotes included
	val, valEnd   int32  // the raw value
	after         int32  // index in refs past the members inside the value
	depth         int32  // 1 for the members of the outermost object
	prefix        uint32 // namePrefix of the name as written, quotes dropped
	esc           bool   // the name has an escape: compare it decoded
}

// namePrefix packs the first four bytes of a name (fewer when it is
// shorter), so that most names that differ are told apart without a
// string comparison.
func namePrefix[T string | []byte](name T) uint32 {
	var p uint32
	for i := 0; i < len(name) && i < 4; i++ {
		p |= uint32(name[i]) << (8 * i)
	}
	return p
}

// Member is one member of a JSON object: its name, decoded, and its raw
// value.
type Member struct {
	Name string
	Val  []byte
}

// Members lists o's top-level members in document order, names decoded.
func (o Object) Members() []Member {
	var out []Member
	for i := 0; i < len(o.refs); i = int(o.refs[i].after) {
		r := o.refs[i]
		out = append(out, Member{Name: DecodeName(o.b[r.name:r.nameEnd]), Val: o.b[r.val:r.valEnd]})
	}
	return out
}

// find returns the index in o.refs of the member called name among the
// members from i (the first member of an object) to end, or -1. The
// object passed CheckJSON, so no other member's name decodes to name.
func (o Object) find(i, end int, name string) int {
	prefix := namePrefix(name)
	for ; i < end; i = int(o.refs[i].after) {
		r := &o.refs[i]
		if r.esc {
			if NameIs(o.b[r.name:r.nameEnd], name) {
				return i
			}
		} else if r.prefix == prefix && int(r.nameEnd-r.name) == len(name)+2 && string(o.b[r.name+1:r.nameEnd-1]) == name {
			return i
		}
	}
	return -1
}

// value returns the raw value of the member at index k.
func (o Object) value(k int) []byte { return o.b[o.refs[k].val:o.refs[k].valEnd] }

// inside returns the range of o.refs that holds the members inside the
// value of the member at index k: its own members, if it is an object,
// start there.
func (o Object) inside(k int) (int, int) { return k + 1, int(o.refs[k].after) }

// names returns the decoded names of the members of the object that is
// the value of the member at index k.
func (o Object) names(k int) []string {
	n := 0
	for i, end := o.inside(k); i < end; i = int(o.refs[i].after) {
		n++
	}
	out := make([]string, 0, n)
	for i, end := o.inside(k); i < end; i = int(o.refs[i].after) {
		out = append(out, DecodeName(o.b[o.refs[i].name:o.refs[i].nameEnd]))
	}
	return out
}

// ParseObject checks b (CheckJSON) and reads its top-level members, in
// the same pass; b must be an object. Errors wrap tenantjwt.ErrMalformed;
// what names the segment.
func ParseObject(b []byte, what string) (Object, error) {
	if FirstByte(b) != '{' {
		return Object{}, fmt.Errorf("issuer: %s is not a JSON object: %w", what, tenantjwt.ErrMalformed)
	}
	obj, err := checkMembers(b)
	if err != nil {
		return Object{}, fmt.Errorf("issuer: %s: %v: %w", what, err, tenantjwt.ErrMalformed)
	}
	return obj, nil
}

// CheckObject is CheckJSON for a segment that must be an object, with
// errors wrapping tenantjwt.ErrMalformed.
func CheckObject(b []byte, what string) error {
	if FirstByte(b) != '{' {
		return fmt.Errorf("issuer: %s is not a JSON object: %w", what, tenantjwt.ErrMalformed)
	}
	if err := CheckJSON(b); err != nil {
		return fmt.Errorf("issuer: %s: %v: %w", what, err, tenantjwt.ErrMalformed)
	}
	return nil
}

// Get returns the raw value of the member called name. The object passed
// CheckJSON, so no other member's name decodes to name.
func (o Object) Get(name string) ([]byte, bool) {
	if k := o.find(0, len(o.refs), name); k >= 0 {
		return o.value(k), true
	}
	return nil, false
}

// DecodeName turns a raw member name (with its quotes) into a string; ""
// when it is not a valid JSON string. It never uses reflection: the
// scanner calls it on hostile input before the signature is checked.
func DecodeName(raw []byte) string {
	if s, ok := plainString(raw); ok {
		return s
	}
	b, ok := unquote(nil, raw)
	if !ok {
		return ""
	}
	return string(b)
}

// unquote appends the content of the JSON string raw (quotes included)
// to dst, with escapes decoded. ok is false when raw is not a string or
// has a bad escape or an unpaired surrogate; other bytes are copied as
// they are (CheckJSON judges UTF-8).
func unquote(dst, raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return dst, false
	}
	end := len(raw) - 1
	for i := 1; i < end; {
		switch c := raw[i]; {
		case c == '\\':
			r, n, err := escape(raw[:end], i)
			if err != nil {
				return dst, false
			}
			dst = utf8.AppendRune(dst, r)
			i += n
		case c < 0x20 || c == '"':
			return dst, false
		default:
			dst = append(dst, c)
			i++
		}
	}
	return dst, true
}

// plainString returns the content of a JSON string that has no escapes and
// is valid UTF-8, the common case, without reflection.
func plainString(raw []byte) (string, bool) {
	if !isPlain(raw) {
		return "", false
	}
	return string(raw[1 : len(raw)-1]), true
}

// isPlain reports whether raw is a JSON string without escapes whose
// content is valid UTF-8: its content as is, quotes dropped, is its value.
func isPlain(raw []byte) bool {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return false
	}
	in := raw[1 : len(raw)-1]
	for _, c := range in[plainRun(in, 0):] {
		if c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return utf8.Valid(in)
}

// LookupMember finds name in the raw JSON object obj, which passed
// CheckJSON comparing names exactly. A name present twice is an error.
func LookupMember(obj []byte, name string) (val []byte, found bool, err error) {
	err = EachMember(obj, func(k, v []byte) error {
		if !NameIs(k, name) {
			return nil
		}
		if found {
			return fmt.Errorf("duplicate member %.64q", name)
		}
		val, found = v, true
		return nil
	})
	return val, found, err
}

// NameIs reports whether the raw member name k decodes to name, without
// allocating: the scanner calls it for every member of hostile input.
func NameIs(k []byte, name string) bool {
	if len(k) == len(name)+2 && string(k[1:len(k)-1]) == name {
		return true
	}
	// Only an escaped spelling can differ from name and decode to it, and
	// an escape spells at most 4 bytes with 12 (a byte with 6 at most).
	if len(k) < 2 || len(k) > 2+6*len(name) || bytes.IndexByte(k, '\\') < 0 {
		return false
	}
	// Decode and compare as we go, stopping at the first difference.
	var enc [utf8.UTFMax]byte
	j := 0
	for i := 1; i < len(k)-1; {
		c := k[i]
		var b []byte
		if c == '\\' {
			r, n, err := escape(k[:len(k)-1], i)
			if err != nil {
				return false
			}
			b = enc[:utf8.EncodeRune(enc[:], r)]
			i += n
		} else {
			b = k[i : i+1]
			i++
		}
		if j+len(b) > len(name) || string(b) != name[j:j+len(b)] {
			return false
		}
		j += len(b)
	}
	return j == len(name)
}

// EachMember calls fn with the raw name (quotes included) and raw value of
// each member of the valid JSON object obj, stopping at fn's first error.
func EachMember(obj []byte, fn func(name, val []byte) error) error {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return errNotObject
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return nil
	}
	for i < len(obj) {
		end := skipValue(obj, i)
		name := obj[i:end]
		i = skipSpace(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return errNotObject
		}
		i = skipSpace(obj, i+1)
		end = skipValue(obj, i)
		if err := fn(name, obj[i:end]); err != nil {
			return err
		}
		i = skipSpace(obj, end)
		if i >= len(obj) || obj[i] != ',' {
			return nil
		}
		i = skipSpace(obj, i+1)
	}
	return nil
}

// EachElement calls fn with each raw element of the valid JSON array arr,
// stopping at fn's first error.
func EachElement(arr []byte, fn func(val []byte) error) error {
	return elements(arr, func(start, end int) error { return fn(arr[start:end]) })
}

// elements calls fn with where each element of the valid JSON array arr
// starts and ends, stopping at fn's first error.
func elements(arr []byte, fn func(start, end int) error) error {
	i := skipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return fmt.Errorf("not a JSON array")
	}
	i = skipSpace(arr, i+1)
	if i < len(arr) && arr[i] == ']' {
		return nil
	}
	for i < len(arr) {
		end := skipValue(arr, i)
		if err := fn(i, end); err != nil {
			return err
		}
		i = skipSpace(arr, end)
		if i >= len(arr) || arr[i] != ',' {
			return nil
		}
		i = skipSpace(arr, i+1)
	}
	return nil
}

// skipValue returns the index just past the JSON value starting at b[i].
// b must be valid JSON; on anything else it still returns an index in
// [i, len(b)], never panics, and callers see a short or empty value.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	}
	// A number or a literal: up to the next delimiter.
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return len(b)
}

// skipString returns the index just past the string starting at b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b); {
		// Jump to the next quote, then look back: it ends the string
		// unless an odd run of backslashes escapes it.
		q := indexQuote(b, i)
		if q < 0 {
			return len(b)
		}
		i = q
		n := 0
		for j := i - 1; j >= 0 && b[j] == '\\'; j-- {
			n++
		}
		if n%2 == 0 {
			return i + 1
		}
		i++
	}
	return len(b)
}

// The string scanners read eight bytes at a time where they can, with the
// word-at-a-time tests for a byte of a given value ("has zero byte": a
// word has one if (x - 0x01…01) &^ x & 0x80…80 is not zero, and its
// lowest set bit marks the first such byte). A word that may hold a byte
// of interest goes to the byte-at-a-time code, so a test may only err on
// the side of that fallback.
const (
	lowBits  = 0x0101010101010101
	highBits = 0x8080808080808080
)

// zeroBytes marks with its high bit each byte of x that is zero, exactly
// up to the first one.
func zeroBytes(x uint64) uint64 { return (x - lowBits) &^ x & highBits }

// plainRun returns the index past the 8-byte words at b[i:] that hold
// only bytes a JSON string may hold as they are and that are ASCII (see
// plainByte); the bytes after it are for the caller to read one by one.
func plainRun(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		// Non-ASCII; a byte below 0x20 (x's bytes are below 0x80 here, and
		// (x - 0x20…20) &^ x & 0x80…80 then finds one); '"'; '\\'.
		if x&highBits != 0 || (x-0x20*lowBits)&^x&highBits != 0 ||
			zeroBytes(x^'"'*lowBits) != 0 || zeroBytes(x^'\\'*lowBits) != 0 {
			break
		}
	}
	return i
}

// indexQuote returns the index of the first '"' at or after b[i], or -1.
// Strings are mostly short: a few words are read here, and a long string
// goes to bytes.IndexByte, which is vectorised.
func indexQuote(b []byte, i int) int {
	for n := 0; n < 4 && i+8 <= len(b); n, i = n+1, i+8 {
		if m := zeroBytes(binary.LittleEndian.Uint64(b[i:]) ^ '"'*lowBits); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	if q := bytes.IndexByte(b[i:], '"'); q >= 0 {
		return i + q
	}
	return -1
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}
