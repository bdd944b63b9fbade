package sqlite

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/storetest"
)

func openMemory(t *testing.T) cancuoc.Store {
	t.Helper()
	s, err := Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformanceMemory(t *testing.T) {
	storetest.Run(t, openMemory)
	storetest.RunOIDC(t, openMemory)
	storetest.RunDispatch(t, openMemory)
	storetest.RunEID(t, openMemory)
	storetest.RunWorkflow(t, openMemory)
	storetest.RunChip(t, openMemory)
	storetest.RunPartners(t, openMemory)
	storetest.RunResidence(t, openMemory)
	storetest.RunLoginSessions(t, openMemory)
	storetest.RunStats(t, openMemory)
	storetest.RunDocuments(t, openMemory)
	storetest.RunReconcile(t, openMemory)
	storetest.RunWebhook(t, openMemory)
	storetest.RunStatusSlots(t, openMemory)
	storetest.RunReconcileLease(t, openMemory)
	storetest.RunQuotaUsage(t, openMemory)
	storetest.RunApplications(t, openMemory)
	storetest.RunQuality(t, openMemory)
	storetest.RunReconcileTotals(t, openMemory)
}

// TestConformanceFile runs the suite on files, where WAL lets readers and
// the writer work at the same time.
func TestConformanceFile(t *testing.T) {
	storetest.Run(t, func(t *testing.T) cancuoc.Store {
		s, err := Open(t.Context(), filepath.Join(t.TempDir(), "cancuoc.db"))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestReopen checks that a file keeps its data and that migrating an
// up-to-date database is harmless.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "dir with space?#", "cancuoc.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	c := storetest.Citizen(storetest.PIN(1))
	if err := s.InsertCitizen(ctx, c); err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := s.read.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q, %v; want wal", mode, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.Citizen(ctx, c.PIN); err != nil || got.FullName != c.FullName {
		t.Fatalf("after reopen: %v, %v", got, err)
	}
}

// TestMemoryPrivate checks that two in-memory stores do not share data.
func TestMemoryPrivate(t *testing.T) {
	a, b := openMemory(t), openMemory(t)
	ctx := t.Context()
	if err := a.InsertCitizen(ctx, storetest.Citizen(storetest.PIN(1))); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Citizen(ctx, storetest.PIN(1)); err == nil {
		t.Fatal("second in-memory store sees the first one's data")
	}
}
