package manifest

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash/maphash"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/ps-photos/ps/internal/record"
)

// Index answers, for one run, what the manifest knows: which local name an
// item got, whether its size and mtime are unchanged, and which names are
// taken. It holds hashes, not strings, so it stays small; the hashes are
// seeded per process and never stored.
type Index struct {
	seed    maphash.Seed
	entries []entry  // sorted by key; the latest line per key, tombstones dropped
	byName  []uint32 // positions in entries, sorted by name hash
	seen    []uint64 // bit per entry: the item was in this run's input
	sha     map[uint64][32]byte
}

type entry struct {
	key    uint64 // Key(source, id)
	name   uint64 // NameHash(local)
	fp     uint32 // Fingerprint(size, mtime)
	suffix uint32 // collision number; deletedSuffix for a tombstone
}

const deletedSuffix = ^uint32(0)

// Hit is what the index knows about one item.
type Hit struct {
	Pos    int
	Name   uint64 // hash of the local name
	FP     uint32
	Suffix int
}

func newIndex(n int, withSHA bool) *Index {
	ix := &Index{seed: maphash.MakeSeed(), entries: make([]entry, 0, n)}
	if withSHA {
		ix.sha = map[uint64][32]byte{}
	}
	return ix
}

// load reads the manifest at p twice: once to count its lines, so the
// index is allocated once at its final size, then to fill it.
func load(p string, withSHA bool) (*Index, int64, error) {
	n := 0
	if _, err := scanLines(p, func([]byte) error { n++; return nil }); err != nil {
		return nil, 0, err
	}
	ix := newIndex(n, withSHA)
	var e Entry
	good, err := scanLines(p, func(line []byte) error {
		e = Entry{}
		if json.Unmarshal(line, &e) != nil {
			return nil
		}
		ix.add(&e)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	ix.finish()
	return ix, good, nil
}

func (ix *Index) add(e *Entry) {
	en := entry{key: ix.Key(e.Source, e.ID), name: ix.NameHash(e.Local), suffix: uint32(e.N)}
	if e.Deleted {
		en.suffix = deletedSuffix
		if ix.sha != nil {
			delete(ix.sha, en.key)
		}
	} else {
		mtime, _ := record.ParseTime(e.Mtime)
		en.fp = ix.Fingerprint(e.Size, mtime)
		if ix.sha != nil {
			var sum [32]byte
			if b, err := hex.DecodeString(e.SHA256); err == nil && len(b) == 32 {
				copy(sum[:], b)
				ix.sha[en.key] = sum
			}
		}
	}
	ix.entries = append(ix.entries, en)
}

// finish keeps the latest line per key, drops tombstones and builds the
// name index.
func (ix *Index) finish() {
	slices.SortStableFunc(ix.entries, func(a, b entry) int { return cmpU64(a.key, b.key) })
	out := ix.entries[:0]
	for i, e := range ix.entries {
		if i+1 < len(ix.entries) && ix.entries[i+1].key == e.key {
			continue // a later line for the same item wins
		}
		if e.suffix != deletedSuffix {
			out = append(out, e)
		}
	}
	ix.entries = slices.Clip(out)
	ix.byName = make([]uint32, len(ix.entries))
	for i := range ix.byName {
		ix.byName[i] = uint32(i)
	}
	slices.SortFunc(ix.byName, func(a, b uint32) int { return cmpU64(ix.entries[a].name, ix.entries[b].name) })
	ix.seen = make([]uint64, (len(ix.entries)+63)/64)
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Len is the number of files the manifest lists.
func (ix *Index) Len() int { return len(ix.entries) }

// Key hashes an item's identity (see Ident).
func (ix *Index) Key(source, id string) uint64 {
	var h maphash.Hash
	h.SetSeed(ix.seed)
	h.WriteString(source)
	h.WriteByte(0)
	h.WriteString(id)
	return h.Sum64()
}

// NameHash hashes a local name as the file systems ps-fetch writes to
// compare names: case-folded and in Unicode NFC, because macOS, Windows
// and exFAT cards hold IMG.CR3 and img.cr3, or café in NFC and in NFD, as
// one file. Names that hash alike collide, so the second gets _1.
func (ix *Index) NameHash(local string) uint64 {
	var h maphash.Hash
	h.SetSeed(ix.seed)
	h.WriteString(FoldName(local))
	return h.Sum64()
}

// FoldName is the form of a name two names collide in: NFC, case-folded.
// ASCII names, the common case, cost one pass and no allocation unless
// they hold upper-case letters.
func FoldName(name string) string {
	upper := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= utf8.RuneSelf {
			return cases.Fold().String(norm.NFC.String(name))
		}
		upper = upper || 'A' <= c && c <= 'Z'
	}
	if !upper {
		return name
	}
	return strings.ToLower(name)
}

// Fingerprint folds size and mtime into 32 bits: an item whose fingerprint
// matches its manifest line is unchanged.
func (ix *Index) Fingerprint(size int64, mtime time.Time) uint32 {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(size))
	if !mtime.IsZero() {
		binary.LittleEndian.PutUint64(b[8:], uint64(mtime.UnixNano()))
	}
	var h maphash.Hash
	h.SetSeed(ix.seed)
	h.Write(b[:])
	return uint32(h.Sum64())
}

// Lookup finds the item with key.
func (ix *Index) Lookup(key uint64) (Hit, bool) {
	i, ok := slices.BinarySearchFunc(ix.entries, key, func(e entry, k uint64) int { return cmpU64(e.key, k) })
	if !ok {
		return Hit{}, false
	}
	e := ix.entries[i]
	return Hit{Pos: i, Name: e.name, FP: e.fp, Suffix: int(e.suffix)}, true
}

// SHA256 returns the manifest's hash for key, when the index was opened
// with hashes.
func (ix *Index) SHA256(key uint64) (string, bool) {
	sum, ok := ix.sha[key]
	if !ok {
		return "", false
	}
	return hex.EncodeToString(sum[:]), true
}

// MarkSeen records that the item at pos was in this run's input.
func (ix *Index) MarkSeen(pos int) { ix.seen[pos/64] |= 1 << (pos % 64) }

func (ix *Index) isSeen(pos int) bool { return ix.seen[pos/64]&(1<<(pos%64)) != 0 }

// owners calls fn for each entry whose local name hashes to name.
func (ix *Index) owners(name uint64, fn func(pos int) bool) {
	i, _ := slices.BinarySearchFunc(ix.byName, name, func(p uint32, n uint64) int { return cmpU64(ix.entries[p].name, n) })
	for ; i < len(ix.byName) && ix.entries[ix.byName[i]].name == name; i++ {
		if !fn(int(ix.byName[i])) {
			return
		}
	}
}

// NameTakenByOther reports whether the local name belongs to an item
// other than key.
func (ix *Index) NameTakenByOther(name, key uint64) bool {
	taken := false
	ix.owners(name, func(p int) bool {
		taken = ix.entries[p].key != key
		return !taken
	})
	return taken
}

// Stale reports whether entry e (a manifest line) is the current entry of
// an item that was not in this run's input, and no item that was owns its
// local name: the file --mirror may delete.
func (ix *Index) Stale(e *Entry) bool {
	if e.Deleted {
		return false
	}
	key := ix.Key(e.Source, e.ID)
	hit, ok := ix.Lookup(key)
	if !ok || ix.isSeen(hit.Pos) || hit.Name != ix.NameHash(e.Local) {
		return false
	}
	keep := false
	ix.owners(hit.Name, func(p int) bool { keep = ix.isSeen(p); return !keep })
	return !keep
}

// scanLines calls fn with each line of the manifest at p; see scanFile.
func scanLines(p string, fn func(line []byte) error) (int64, error) {
	good, err := scanFile(p, fn)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	return good, err
}
