package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestLine(t *testing.T) {
	got := Line("seed", 500, 1000, 2*time.Second)
	for _, want := range []string{"seed", " 50.0%", "500/1000", "250/s", "2s"} {
		if !strings.Contains(got, want) {
			t.Errorf("Line = %q, want it to contain %q", got, want)
		}
	}
	if got := Line("x", 10, 10, time.Second); !strings.Contains(got, "100.0%") || !strings.Contains(got, "0s") {
		t.Errorf("finished line = %q", got)
	}
}

func TestBarRedrawsAndFinishes(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Unix(0, 0)
	b := New(&buf, "load", 100)
	b.now = func() time.Time { return clock }
	b.start = clock
	for i := 0; i < 10; i++ {
		clock = clock.Add(300 * time.Millisecond)
		b.Add(10)
	}
	b.Finish()
	out := buf.String()
	if strings.Count(out, "\r") < 10 || !strings.HasSuffix(out, "\n") || !strings.Contains(out, "100/100") {
		t.Fatalf("unexpected output %q", out)
	}
	if r := b.Rate(); r < 33 || r > 34 {
		t.Fatalf("rate = %v, want ~33.3", r)
	}
}

func TestFinishDoesNotRepeatTheLastLine(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "x", 2)
	b.Add(2)
	b.Finish()
	if n := strings.Count(buf.String(), "2/2"); n != 1 {
		t.Fatalf("final state drawn %d times: %q", n, buf.String())
	}
}
