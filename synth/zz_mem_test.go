package synth
import ("testing";"context";"runtime";"time";"github.com/cancuoc/cancuoc")
func TestZZMem(t *testing.T) {
	var peak uint64; n := 0
	start := time.Now()
	Generate(context.Background(), Config{Citizens: 2_000_000, Now: testNow, Seed: 9}, func(b []*cancuoc.Citizen) error {
		n += len(b)
		if n%200_000 < len(b) { var m runtime.MemStats; runtime.ReadMemStats(&m); peak = max(peak, m.HeapInuse) }
		return nil
	})
	t.Logf("%d people in %s (%.0f/s), peak heap in use %d MB", n, time.Since(start), float64(n)/time.Since(start).Seconds(), peak>>20)
}
