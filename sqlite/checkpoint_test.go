package sqlite_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/sqlite"
)

// TestCheckpointOffTheWriter: commits no longer copy the WAL back into the
// database file themselves (at 1000 pages, in the single writer's time); a
// connection of the store's own does it within moments, whatever the WAL's
// size. A few hundred kilobytes of commits, far under 1000 pages, reach
// the database file.
func TestCheckpointOffTheWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ck.db")
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	time.Sleep(300 * time.Millisecond) // the migrations' pages are copied back
	before := size()
	data, _ := json.Marshal(map[string]string{"padding": strings.Repeat("x", 3000)})
	for i := range 60 {
		err := st.InTx(t.Context(), func(tx cancuoc.Tx) error {
			return tx.AppendEvent(t.Context(), &cancuoc.Event{ID: fmt.Sprintf("ev-%d", i), Type: "test.padding",
				Actor: "test", At: time.Now(), Data: data})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for size() < before+60*3000 {
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes after 180 kB of commits (%d before): the WAL was not copied back", size(), before)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
