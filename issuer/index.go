package issuer

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"sync/atomic"
)

// The registry's index of issuers is built for SaaS scale: tens of
// thousands of issuers, onboarded and offboarded one at a time while
// tokens are verified.
//
// Readers never lock and never wait: a lookup hashes the key to one of a
// fixed number of shards, loads the shard's immutable map through an
// atomic pointer and indexes it. A writer (the registry serialises them)
// copies only the shard it changes and publishes the copy, so adding or
// removing one issuer costs a copy of about n/shards map entries instead
// of the whole registry.

// shards is the number of shards of a shardedMap, a power of two. At
// 100 000 issuers a shard holds about 25 entries; an empty registry
// costs two arrays of 32 KiB.
const shards = 4096

// shardSeed seeds the shard hash. It is per process, so which issuers
// share a shard cannot be chosen from outside.
var shardSeed = maphash.MakeSeed()

func shardOf(k string) uint64 { return maphash.String(shardSeed, k) & (shards - 1) }

// table is the immutable content of one shard.
type table struct{ m map[string]*entry }

// shardedMap maps strings to entries. get is safe at any time; set and
// del must be serialised by the caller.
type shardedMap struct {
	shard [shards]atomic.Pointer[table]
}

func (s *shardedMap) get(k string) (*entry, bool) {
	t := s.shard[shardOf(k)].Load()
	if t == nil {
		return nil, false
	}
	e, ok := t.m[k]
	return e, ok
}

// set publishes a copy of k's shard with k mapped to e.
func (s *shardedMap) set(k string, e *entry) {
	p := &s.shard[shardOf(k)]
	old := p.Load()
	var m map[string]*entry
	if old == nil {
		m = make(map[string]*entry, 1)
	} else {
		m = make(map[string]*entry, len(old.m)+1)
		maps.Copy(m, old.m)
	}
	m[k] = e
	p.Store(&table{m: m})
}

// del publishes a copy of k's shard without k.
func (s *shardedMap) del(k string) {
	p := &s.shard[shardOf(k)]
	old := p.Load()
	if old == nil {
		return
	}
	if _, ok := old.m[k]; !ok {
		return
	}
	if len(old.m) == 1 {
		p.Store(nil)
		return
	}
	m := maps.Clone(old.m)
	delete(m, k)
	p.Store(&table{m: m})
}

// builder collects the shards of a new shardedMap without copying.
type builder [shards]map[string]*entry

func (b *builder) put(k string, e *entry) {
	i := shardOf(k)
	if b[i] == nil {
		b[i] = make(map[string]*entry)
	}
	b[i][k] = e
}

// publish stores the collected shards in s.
func (b *builder) publish(s *shardedMap) {
	for i, m := range b {
		if m != nil {
			s.shard[i].Store(&table{m: m})
		}
	}
}

// each calls f for every value, shard by shard, each shard as it was when
// reached.
func (s *shardedMap) each(f func(*entry)) {
	for i := range s.shard {
		if t := s.shard[i].Load(); t != nil {
			for _, e := range t.m {
				f(e)
			}
		}
	}
}

// snapshot is the set of trusted issuers. Add, Remove and Update change it
// in place, one shard at a time; Replace builds a new one and swaps it in
// whole, so a verification sees either the old set or the new one.
type snapshot struct {
	exact     shardedMap               // exact issuers by issuer and alias
	names     shardedMap               // every entry by name
	templates atomic.Pointer[[]*entry] // immutable, in configuration order
}

func newSnapshot(entries []*entry) *snapshot {
	s := &snapshot{}
	exact, names := new(builder), new(builder)
	var templates []*entry
	for _, e := range entries {
		names.put(e.name, e)
		for _, k := range e.exactKeys() {
			exact.put(k, e)
		}
		if e.tpl != nil {
			templates = append(templates, e)
		}
	}
	exact.publish(&s.exact)
	names.publish(&s.names)
	s.templates.Store(&templates)
	return s
}

// lookup finds the entry for an unverified iss: exact map first, then
// templates. bound is the template's tenant.
func (s *snapshot) lookup(iss string) (e *entry, bound string, ok bool) {
	if e, ok := s.exact.get(iss); ok {
		return e, "", true
	}
	for _, e := range *s.templates.Load() {
		if t, ok := e.tpl.match(iss); ok {
			return e, t, true
		}
	}
	return nil, "", false
}

// find returns the entry named issuerOrName, or else the one whose issuer
// string (exact or template) it is.
func (s *snapshot) find(issuerOrName string) (*entry, bool) {
	if e, ok := s.names.get(issuerOrName); ok {
		return e, true
	}
	if e, ok := s.exact.get(issuerOrName); ok && e.cfg.Issuer == issuerOrName {
		return e, true
	}
	for _, e := range *s.templates.Load() {
		if e.cfg.Issuer == issuerOrName {
			return e, true
		}
	}
	return nil, false
}

// conflict reports whether e's name or one of its issuer strings is taken
// by an entry other than except, in the words of checkConflicts.
func (s *snapshot) conflict(e, except *entry, where string) error {
	prefix := fmt.Sprintf("%s (%s)", where, e.name)
	if o, ok := s.names.get(e.name); ok && o != except {
		return fmt.Errorf("%s: name: duplicate name %.128q", prefix, e.name)
	}
	for j, sp := range e.spellings() {
		o, ok := s.exact.get(sp)
		if !ok {
			for _, t := range *s.templates.Load() {
				if t.cfg.Issuer == sp {
					o, ok = t, true
				}
			}
		}
		if ok && o != except {
			field := "issuer"
			if j > 0 {
				field = fmt.Sprintf("aliases[%d]", j-1)
			}
			return fmt.Errorf("%s: %s: %.128q is already trusted by %s", prefix, field, sp, o.name)
		}
	}
	return nil
}

// swap puts next in the place of prev: Add when prev is nil, Remove when
// next is nil. Keys of next are published before the keys only prev had
// are withdrawn, so an issuer that stays is never missing for a moment.
// The caller serialises writers and has checked conflicts.
func (s *snapshot) swap(prev, next *entry) {
	var keep map[string]bool
	if next != nil {
		keep = make(map[string]bool, 1+len(next.cfg.Aliases))
		s.names.set(next.name, next)
		for _, k := range next.exactKeys() {
			s.exact.set(k, next)
			keep[k] = true
		}
	}
	if prev != nil {
		if next == nil || next.name != prev.name {
			s.names.del(prev.name)
		}
		for _, k := range prev.exactKeys() {
			if !keep[k] {
				s.exact.del(k)
			}
		}
	}
	if (prev != nil && prev.tpl != nil) || (next != nil && next.tpl != nil) {
		old := *s.templates.Load()
		tpls := make([]*entry, 0, len(old)+1)
		placed := false
		for _, t := range old {
			switch {
			case t != prev:
				tpls = append(tpls, t)
			case next != nil && next.tpl != nil:
				tpls = append(tpls, next) // keeps its place
				placed = true
			}
		}
		if next != nil && next.tpl != nil && !placed {
			tpls = append(tpls, next)
		}
		s.templates.Store(&tpls)
	}
}

// exactKeys are the keys of e in the exact map: its issuer (unless it is
// a template) and its aliases.
func (e *entry) exactKeys() []string {
	if e.tpl != nil {
		return e.cfg.Aliases
	}
	return e.spellings()
}

// entries returns every entry in configuration order (the order of New or
// Replace, then of Add).
func (s *snapshot) entries() []*entry {
	var out []*entry
	s.names.each(func(e *entry) { out = append(out, e) })
	slices.SortFunc(out, func(a, b *entry) int { return cmp.Compare(a.seq, b.seq) })
	return out
}
