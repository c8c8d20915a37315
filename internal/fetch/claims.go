package fetch

import "math/bits"

// claimSet maps the hashes of local names first given out in this run to
// the key of the item that got them. A run that names a million new files
// keeps a million claims, so this is a compact open-addressing table (16
// bytes a slot, at least 64% full) split into 256 shards that each grow by
// a quarter: a million claims take about 22 MB, against 35 MB for a Go map,
// and growing never needs twice the memory at once.
type claimSet struct {
	shards [256]claimShard
}

type claimShard struct {
	slots []claim
	n     int
}

type claim struct {
	name uint64 // 0 marks an empty slot
	key  uint64
}

const claimMaxLoad = 0.8

// get returns the key that claimed name.
func (c *claimSet) get(name uint64) (uint64, bool) {
	name = nonZero(name)
	s := &c.shards[name>>56]
	if len(s.slots) == 0 {
		return 0, false
	}
	for i := s.home(name); ; i = s.next(i) {
		switch s.slots[i].name {
		case name:
			return s.slots[i].key, true
		case 0:
			return 0, false
		}
	}
}

// put records that key claimed name (replacing an earlier claim).
func (c *claimSet) put(name, key uint64) {
	name = nonZero(name)
	s := &c.shards[name>>56]
	if float64(s.n+1) > claimMaxLoad*float64(len(s.slots)) {
		s.grow()
	}
	for i := s.home(name); ; i = s.next(i) {
		switch s.slots[i].name {
		case name:
			s.slots[i].key = key
			return
		case 0:
			s.slots[i] = claim{name: name, key: key}
			s.n++
			return
		}
	}
}

// len is the number of claims.
func (c *claimSet) len() int {
	n := 0
	for i := range c.shards {
		n += c.shards[i].n
	}
	return n
}

// home maps a name hash onto the shard's slots without needing a power
// of two (Lemire's multiply-shift), so shards can grow by a quarter.
func (s *claimShard) home(name uint64) int {
	hi, _ := bits.Mul64(name*0x9E3779B97F4A7C15, uint64(len(s.slots)))
	return int(hi)
}

func (s *claimShard) next(i int) int {
	if i++; i == len(s.slots) {
		return 0
	}
	return i
}

func (s *claimShard) grow() {
	old := s.slots
	s.slots = make([]claim, max(16, len(old)+len(old)/4))
	s.n = 0
	for _, cl := range old {
		if cl.name != 0 {
			for i := s.home(cl.name); ; i = s.next(i) {
				if s.slots[i].name == 0 {
					s.slots[i] = cl
					s.n++
					break
				}
			}
		}
	}
}

func nonZero(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return h
}
