package sqlite

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/storetest"
)

// BenchmarkBulkInsert measures BulkInsert in batches of 10,000 into a file
// database; it reports citizens per second. "small" records carry the
// fields every record has, "full" ones every field of the Law on Identity.
func BenchmarkBulkInsert(b *testing.B) {
	for _, kind := range []string{"small", "full"} {
		b.Run(kind, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "bench.db")
			if os.Getenv("BENCH_MEM") != "" {
				path = ":memory:"
			}
			s, err := Open(b.Context(), path)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			const batch = 10000
			serial := 0
			next := func() []*cancuoc.CitizenVersion {
				vs := make([]*cancuoc.CitizenVersion, batch)
				for i := range vs {
					// Spread over birth years so the PIN space lasts.
					pin := storetest.PINFor("001", cancuoc.Male, 1950+serial/1000000, serial%1000000)
					serial++
					var c *cancuoc.Citizen
					if kind == "small" {
						c = storetest.Minimal(pin, "Nguyễn Văn An", "nguyen van an")
						c.Home = cancuoc.UnitRef{Province: "01", Commune: fmt.Sprintf("%05d", i%500)}
					} else {
						c = storetest.Citizen(pin)
					}
					vs[i] = &cancuoc.CitizenVersion{PIN: pin, Version: 1, At: c.CreatedAt, Actor: "synth",
						Agency: "import", Reason: "initial load", Citizen: c}
				}
				return vs
			}
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				vs := next()
				b.StartTimer()
				if err := s.BulkInsert(b.Context(), vs, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "citizens/s")
		})
	}
}
