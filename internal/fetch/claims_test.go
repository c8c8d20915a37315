package fetch

import (
	"math/rand/v2"
	"testing"
)

func TestClaimSetMatchesAMap(t *testing.T) {
	var c claimSet
	want := map[uint64]uint64{}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200_000 {
		name := rng.Uint64()
		if i%7 == 0 {
			name = uint64(i%50 + 2) // small values and repeats (0 and 1 share a slot by design)
		}
		if i%3 == 0 {
			if got, ok := c.get(name); ok != hasKey(want, name) || got != want[name] {
				t.Fatalf("get(%d) = %d, %v; want %d", name, got, ok, want[name])
			}
		}
		key := rng.Uint64() | 1
		c.put(name, key)
		want[name] = key
	}
	if c.len() != len(want) {
		t.Fatalf("len %d, want %d", c.len(), len(want))
	}
	for name, key := range want {
		if got, ok := c.get(name); !ok || got != key {
			t.Fatalf("get(%d) = %d, %v; want %d", name, got, ok, key)
		}
	}
	for range 1000 {
		name := rng.Uint64()
		if _, ok := c.get(name); ok != hasKey(want, name) {
			t.Fatalf("get(%d) found a name never put", name)
		}
	}
}

func hasKey(m map[uint64]uint64, k uint64) bool { _, ok := m[k]; return ok }
