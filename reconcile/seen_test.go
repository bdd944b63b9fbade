package reconcile

import "testing"

// TestSeenKeysFillTheirTable: the default bound of duplicate keys is the
// most a power-of-two table holds at 3/4, so a set filled to it never
// takes a table twice as large, and one filled to a bound of that kind
// keeps the table it had (checked at 3/4 of 2^12).
func TestSeenKeysFillTheirTable(t *testing.T) {
	slots := DefaultSeenKeys * 4 / 3
	if DefaultSeenKeys*4%3 != 0 || slots&(slots-1) != 0 {
		t.Errorf("DefaultSeenKeys %d is not 3/4 of a power of two", DefaultSeenKeys)
	}
	const limit = 3 << 10 // 3/4 of 2^12
	s := newSeenSet(limit)
	s.hashes, s.lines = make([]uint64, 1<<12), make([]uint32, 1<<12)
	for i := range limit + 10 {
		first, err := s.add(int64(uint64(i+1)*0x9e3779b97f4a7c15), int64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(i + 1); i >= limit {
			want = 0
			if first != want {
				t.Fatalf("key %d past the bound: %d, want 0 (the store's)", i, first)
			}
		} else if first != want {
			t.Fatalf("key %d: first seen at %d, want %d", i, first, want)
		}
	}
	if len(s.hashes) != 1<<12 || s.n != limit {
		t.Errorf("%d keys in %d slots, want %d in %d", s.n, len(s.hashes), limit, 1<<12)
	}
}

// TestSeenReserve: a set sized at once for the keys to come keeps every
// key and the line where it was first seen, takes the table those keys
// need (no doubling past it) and never more than the bound's.
func TestSeenReserve(t *testing.T) {
	s := newSeenSet(3 << 10)
	s.hashes, s.lines = make([]uint64, 1<<8), make([]uint32, 1<<8)
	key := func(i int) int64 { return int64(uint64(i+1) * 0x9e3779b97f4a7c15) }
	for i := range 100 {
		if _, err := s.add(key(i), int64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	s.reserve(3000)
	if len(s.hashes) != 1<<12 {
		t.Fatalf("reserved %d slots for 3000 keys, want %d", len(s.hashes), 1<<12)
	}
	for i := range 3000 {
		first, err := s.add(key(i%1500), int64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(i%1500 + 1); first != want {
			t.Fatalf("key %d: first seen at %d, want %d", i%1500, first, want)
		}
	}
	if len(s.hashes) != 1<<12 || s.n != 1500 {
		t.Errorf("%d keys in %d slots, want 1500 in %d", s.n, len(s.hashes), 1<<12)
	}
	s.reserve(1 << 20) // beyond the bound: the bound's table
	if len(s.hashes) != 1<<12 {
		t.Errorf("reserved %d slots past the bound of 3/4 of %d", len(s.hashes), 1<<12)
	}
}
