package tarball

import (
	"hash/maphash"
)

// nameTable counts the members of each name in A and B with compact
// per-name state, because the differ keeps it for every member until both
// inputs are read (a million members must fit in a small budget): each
// name's bytes live once in one arena, an entry is 24 bytes, and the index
// maps a seeded 64-bit hash (unpredictable to whoever made the tarball) to
// the first entry of its chain, so hash collisions cost time, never
// correctness. A map[string][2]int32 costs about three times as much per
// name (a string header and allocation per key, plus the map's overhead).
type nameTable struct {
	hash  func(string) uint64
	index map[uint64]int32
	ents  []nameEnt
	arena []byte
}

type nameEnt struct {
	off   uint64
	n     uint32
	next  int32 // next entry with the same hash, or -1
	count [2]int32
}

func newNameTable() *nameTable {
	seed := maphash.MakeSeed()
	return &nameTable{hash: func(s string) uint64 { return maphash.String(seed, s) }, index: map[uint64]int32{}}
}

func (t *nameTable) name(e int32) string {
	ent := &t.ents[e]
	return string(t.arena[ent.off : ent.off+uint64(ent.n)])
}

func (t *nameTable) equal(e int32, name string) bool {
	ent := &t.ents[e]
	return int(ent.n) == len(name) && string(t.arena[ent.off:ent.off+uint64(ent.n)]) == name
}

// lookup returns name's hash and its entry, or -1.
func (t *nameTable) lookup(name string) (uint64, int32) {
	h := t.hash(name)
	e, ok := t.index[h]
	if !ok {
		return h, -1
	}
	for ; e >= 0; e = t.ents[e].next {
		if t.equal(e, name) {
			return h, e
		}
	}
	return h, -1
}

// find returns the entry of name, or -1.
func (t *nameTable) find(name string) int32 {
	_, e := t.lookup(name)
	return e
}

// entry returns the entry of name, adding it if it is new.
func (t *nameTable) entry(name string) int32 {
	h, e := t.lookup(name)
	if e >= 0 {
		return e
	}
	first, ok := t.index[h]
	if !ok {
		first = -1
	}
	e = int32(len(t.ents))
	t.ents = append(t.ents, nameEnt{off: uint64(len(t.arena)), n: uint32(len(name)), next: first})
	t.arena = append(t.arena, name...)
	t.index[h] = e
	return e
}

// counts returns how many members named name each input has had so far.
func (t *nameTable) counts(name string) [2]int32 {
	if e := t.find(name); e >= 0 {
		return t.ents[e].count
	}
	return [2]int32{}
}

// add counts one more member named name in input side (0 for A, 1 for B)
// and returns its entry and its 0-based occurrence.
func (t *nameTable) add(name string, side int) (int32, int32) {
	e := t.entry(name)
	occ := t.ents[e].count[side]
	t.ents[e].count[side]++
	return e, occ
}

// set sets the counts of name (for inputs counted elsewhere).
func (t *nameTable) set(name string, side int, n int32) {
	t.ents[t.entry(name)].count[side] = n
}

// each calls f for every name, in the order the names were first seen.
func (t *nameTable) each(f func(name string, count [2]int32)) {
	for e := range t.ents {
		f(t.name(int32(e)), t.ents[e].count)
	}
}
