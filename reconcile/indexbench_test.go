package reconcile_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/reconcile"
	"github.com/cancuoc/cancuoc/vntext"
)

// synthScanner is a registry of n synthetic people streamed as a store's
// ScanMatchRecords does (in no particular order, batches reused), without a
// database: the Go side of building the index, measured alone.
type synthScanner struct{ n int }

var (
	synthFamily = []string{"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ"}
	synthMiddle = []string{"Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quang"}
	synthGiven  = []string{"An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hùng", "Lan", "Linh", "Long",
		"Mai", "Nam", "Nga", "Phúc", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Vy", "Yến"}
)

// synthPIN is the PIN of person i: province, century and sex, year, then
// a serial scattered over six digits, as the registry issues them.
func synthPIN(i int) cancuoc.PIN {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	prov := 1 + r.IntN(96)
	year := 1930 + r.IntN(95)
	g := (year/100-19)*2 + r.IntN(2)
	return cancuoc.PIN(fmt.Sprintf("%03d%d%02d%06d", prov, g, year%100, (uint64(i)*0x9e3779b1)%1_000_000))
}

// synthPool is the records people are drawn from: person i is
// synthPool[i%len] with a serial of its own, so a scan costs little more
// than the index building it measures.
var synthPool = sync.OnceValue(func() []cancuoc.MatchRecord {
	pool := make([]cancuoc.MatchRecord, 1<<16)
	for i := range pool {
		r := rand.New(rand.NewPCG(uint64(i), 9))
		name := synthFamily[r.IntN(len(synthFamily))] + " " + synthMiddle[r.IntN(len(synthMiddle))] + " " +
			synthGiven[r.IntN(len(synthGiven))]
		pin := synthPIN(i)
		year, _ := strconv.Atoi(string(pin[4:6]))
		pool[i] = cancuoc.MatchRecord{PIN: pin, FullName: name, NameKey: vntext.Key(name),
			BirthDate: cancuoc.Date{Year: 1900 + year, Month: 1 + r.IntN(12), Day: 1 + r.IntN(28)},
			Sex:       cancuoc.Male, LifeStatus: cancuoc.Alive,
			Home: cancuoc.UnitRef{Province: fmt.Sprintf("%02d", 1+i%34), Commune: fmt.Sprintf("%05d", i%3321)}}
	}
	return pool
})

// synthPerson is person i: a pool record with the serial i scattered.
func synthPerson(i int) cancuoc.MatchRecord {
	pool := synthPool()
	m := pool[i%len(pool)]
	var b [12]byte
	copy(b[:6], m.PIN[:6])
	serial := (uint64(i) * 0x9e3779b1) % 1_000_000
	for k := 11; k >= 6; k-- {
		b[k] = byte('0' + serial%10)
		serial /= 10
	}
	m.PIN = cancuoc.PIN(b[:])
	return m
}

func (s synthScanner) ScanMatchRecords(ctx context.Context, batch int, fn func([]cancuoc.MatchRecord) error) (cancuoc.MatchSnapshot, error) {
	buf := make([]cancuoc.MatchRecord, 0, batch)
	for i := range s.n {
		if buf = append(buf, synthPerson(i)); len(buf) == batch {
			if err := fn(buf); err != nil {
				return cancuoc.MatchSnapshot{}, err
			}
			buf = buf[:0]
		}
	}
	if len(buf) > 0 {
		if err := fn(buf); err != nil {
			return cancuoc.MatchSnapshot{}, err
		}
	}
	return cancuoc.MatchSnapshot{At: time.Now()}, nil
}

// indexPeople is the registry size of the index benchmarks
// (RECONCILE_INDEX_PEOPLE, default 1,000,000).
func indexPeople(b *testing.B) int {
	if v := os.Getenv("RECONCILE_INDEX_PEOPLE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	return 1_000_000
}

// BenchmarkIndexBuild is the CPU of building the index per person (the
// synthetic scan's own cost included; BenchmarkIndexScanOnly is that alone).
func BenchmarkIndexBuild(b *testing.B) {
	n := indexPeople(b)
	runtime.GC()
	b.ResetTimer()
	cpu := cpuTime()
	for range b.N {
		ix, err := reconcile.BuildIndex(b.Context(), synthScanner{n})
		if err != nil || ix.Len() != n {
			b.Fatal(err, ix.Len())
		}
	}
	reportCPU(b, cpu, b.N*n)
}

// BenchmarkIndexScanOnly is the synthetic scan alone, to subtract from
// BenchmarkIndexBuild.
func BenchmarkIndexScanOnly(b *testing.B) {
	n := indexPeople(b)
	cpu := cpuTime()
	for range b.N {
		if _, err := (synthScanner{n}).ScanMatchRecords(b.Context(), 20000, func([]cancuoc.MatchRecord) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu, b.N*n)
}

// BenchmarkIndexFind is the CPU of looking up a PIN (MatchRecords, a chunk
// of 1,000 at a time as the matcher asks) in an index of indexPeople.
func BenchmarkIndexFind(b *testing.B) {
	n := indexPeople(b)
	ix, err := reconcile.BuildIndex(b.Context(), synthScanner{n})
	if err != nil {
		b.Fatal(err)
	}
	pool := make([]cancuoc.PIN, 1<<16)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range pool {
		pool[i] = synthPerson(r.IntN(n)).PIN
	}
	pins := make([]cancuoc.PIN, 1000)
	runtime.GC()
	b.ResetTimer()
	cpu := cpuTime()
	done := 0
	for done < b.N {
		for i := range pins {
			pins[i] = pool[(done+i)%len(pool)]
		}
		got, err := ix.MatchRecords(b.Context(), pins, false)
		if err != nil || len(got) < len(pins)*9/10 {
			b.Fatal(err, len(got))
		}
		done += len(pins)
	}
	reportCPU(b, cpu, done)
}

// badScanner streams synthetic people with one malformed PIN in its third
// batch, and counts the batches it got to hand over.
type badScanner struct{ batches *int }

func (s badScanner) ScanMatchRecords(ctx context.Context, batch int, fn func([]cancuoc.MatchRecord) error) (cancuoc.MatchSnapshot, error) {
	buf := make([]cancuoc.MatchRecord, batch)
	for b := range 50 {
		for i := range buf {
			buf[i] = synthPerson(b*batch + i)
		}
		if b == 2 {
			buf[7].PIN = "12345"
		}
		*s.batches++
		if err := fn(buf); err != nil {
			return cancuoc.MatchSnapshot{}, err
		}
	}
	return cancuoc.MatchSnapshot{At: time.Now()}, nil
}

// TestBuildIndexStopsOnBadRecord: a record the builder refuses (taken in
// on another goroutine than the scan's) fails the build and stops the
// scan, instead of being lost or leaving the scan blocked.
func TestBuildIndexStopsOnBadRecord(t *testing.T) {
	n := 0
	ix, err := reconcile.BuildIndex(t.Context(), badScanner{&n})
	if err == nil || !strings.Contains(err.Error(), "malformed PIN") || ix != nil {
		t.Fatalf("BuildIndex = %v, %v; want the malformed PIN", ix, err)
	}
	if n == 50 {
		t.Errorf("the scan was not stopped by the builder's error")
	}
}
