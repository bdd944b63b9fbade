package wallet

import (
	"strconv"
	"testing"
	"time"
)

// TestListCacheBounded: a full cache drops its oldest entry for a new
// key, and replacing an entry drops nothing.
func TestListCacheBounded(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	m := map[string]cachedList{}
	at := func(c cachedList) time.Time { return c.at }
	for i := range 3 * maxCachedLists {
		key := "transport/" + strconv.Itoa(i)
		evictOldest(m, key, at)
		m[key] = cachedList{at: t0.Add(time.Duration(i) * time.Second)}
		if len(m) > maxCachedLists {
			t.Fatalf("%d entries after %d lists, want at most %d", len(m), i+1, maxCachedLists)
		}
	}
	if _, ok := m["transport/0"]; ok {
		t.Error("the oldest entry should be gone")
	}
	last := "transport/" + strconv.Itoa(3*maxCachedLists-1)
	evictOldest(m, last, at)
	if len(m) != maxCachedLists {
		t.Errorf("replacing an entry evicted one: %d entries", len(m))
	}
}
