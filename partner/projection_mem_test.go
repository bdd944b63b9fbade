package partner

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/cancuoc/cancuoc"
)

// TestProjectionMemory fills a projection with a million people and
// measures the heap it takes, against Bytes' estimate.
func TestProjectionMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("a million entries")
	}
	const n = 1_000_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p := NewProjection(nil)
	v := matchView{FullName: "Nguyễn Văn An", BirthDate: cancuoc.Date{Year: 1990, Month: 1, Day: 1}, Sex: cancuoc.Male,
		LifeStatus: cancuoc.Alive, Phone: "0912345678",
		CurrentResidence: &cancuoc.Place{Era: cancuoc.Era34, Province: "79", Commune: "26734", Detail: "số 1"},
		Cards:            []cancuoc.Card{{Number: "079090000001", Status: cancuoc.CardValid}}}
	for i := range n {
		p.put(cancuoc.PIN(fmt.Sprintf("0790%08d", i)), 1, &v)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%d people: %.0f bytes each on the heap (Bytes estimates %.0f); 10M people: %.2f GB",
		p.Len(), per, float64(p.Bytes())/n, per*1e7/1e9)
	if p.Len() != n {
		t.Fatalf("%d people, want %d", p.Len(), n)
	}
	if per > 200 {
		t.Errorf("%.0f bytes per person, want at most 200", per)
	}
	runtime.KeepAlive(p)
}
