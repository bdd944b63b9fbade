package reconcile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// smallIndex builds an index of a few people, two of them namesakes born
// the same day, one without a name.
func smallIndex(t testing.TB) *Index {
	t.Helper()
	b := newBuilder()
	recs := []cancuoc.MatchRecord{
		{PIN: "001090000001", FullName: "Nguyễn Văn Đức", NameKey: "nguyen van duc", BirthDate: cancuoc.Date{Year: 1990, Month: 5, Day: 17},
			Sex: cancuoc.Male, LifeStatus: cancuoc.Alive, Home: cancuoc.UnitRef{Province: "01", Commune: "00004"}},
		{PIN: "079090000002", FullName: "Trần Văn Đức", NameKey: "tran van duc", BirthDate: cancuoc.Date{Year: 1990, Month: 5, Day: 17},
			Sex: cancuoc.Male, LifeStatus: cancuoc.Dead, Home: cancuoc.UnitRef{Province: "79"}},
		{PIN: "001190000003", FullName: "Lê Thị Lan", NameKey: "le thi lan", BirthDate: cancuoc.Date{Year: 1990},
			Sex: cancuoc.Female, LifeStatus: cancuoc.Alive, Home: cancuoc.UnitRef{Province: "01", Commune: "00007"}},
		{PIN: "002200000004", BirthDate: cancuoc.Date{Year: 2000, Month: 1, Day: 2}},
	}
	if err := b.add(recs); err != nil {
		t.Fatal(err)
	}
	if err := b.finish(); err != nil {
		t.Fatal(err)
	}
	b.ix.At, b.ix.Seq = time.Unix(1_790_000_000, 123), 42
	return b.ix
}

func saved(t testing.TB, ix *Index, key string) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ix.idx")
	if err := SaveIndex(path, key, ix); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("index file mode %v, want 0600 (it copies personal data)", st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestIndexFileRoundTrip: a saved index loads back with the same people,
// snapshot and answers; any damage, another registry's key or another
// layout is refused with ErrIndexFile.
func TestIndexFileRoundTrip(t *testing.T) {
	ix := smallIndex(t)
	file := saved(t, ix, "reg")
	got, err := readIndex(bytes.NewReader(file), int64(len(file)), "reg")
	if err != nil {
		t.Fatal(err)
	}
	if !got.At.Equal(ix.At) || got.Seq != 42 || got.Len() != 4 {
		t.Errorf("loaded At %v Seq %d Len %d", got.At, got.Seq, got.Len())
	}
	pins := []cancuoc.PIN{"001090000001", "079090000002", "001190000003", "002200000004", "001090000009"}
	a, _ := ix.MatchRecords(t.Context(), pins, false)
	b, _ := got.MatchRecords(t.Context(), pins, false)
	if len(a) != 4 || len(b) != 4 {
		t.Fatalf("MatchRecords found %d and %d, want 4", len(a), len(b))
	}
	for i := range a {
		if !sameRecord(a[i], b[i]) {
			t.Errorf("record %d: %+v loaded as %+v", i, a[i], b[i])
		}
	}
	probe := []cancuoc.MatchProbe{{Ref: 1, Date: cancuoc.Date{Year: 1990, Month: 5, Day: 17}, Token: "duc"}}
	ca, _ := ix.MatchCandidates(t.Context(), probe, 0)
	cb, _ := got.MatchCandidates(t.Context(), probe, 0)
	if len(ca) != 2 || len(cb) != 2 || ca[0].PIN != cb[0].PIN || ca[1].PIN != cb[1].PIN {
		t.Errorf("candidates %v, loaded %v", ca, cb)
	}

	refused := func(what string, b []byte, key string) {
		t.Helper()
		if _, err := readIndex(bytes.NewReader(b), int64(len(b)), key); !errors.Is(err, ErrIndexFile) {
			t.Errorf("%s: %v, want ErrIndexFile", what, err)
		}
	}
	refused("another registry", file, "other")
	for _, at := range []int{0, 9, 70, len(file) / 2, len(file) - 1} {
		bad := bytes.Clone(file)
		bad[at] ^= 1
		refused("a flipped bit", bad, "reg")
	}
	refused("torn", file[:len(file)-9], "reg")
	refused("empty", nil, "reg")
	refused("too long", append(bytes.Clone(file), 0), "reg")
	if _, err := LoadIndex(filepath.Join(t.TempDir(), "none"), "reg"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
	over, err := ix.withChanges(cancuoc.MatchChanges{Records: a[:1]})
	if err != nil {
		t.Fatal(err)
	}
	if SaveIndex(filepath.Join(t.TempDir(), "x"), "reg", over) == nil {
		t.Error("an index with changes on top was saved")
	}
}

func sameRecord(a, b cancuoc.MatchRecord) bool {
	return a.PIN == b.PIN && a.FullName == b.FullName && a.NameKey == b.NameKey && a.BirthDate == b.BirthDate &&
		a.Sex == b.Sex && a.LifeStatus == b.LifeStatus && a.Home == b.Home
}

// FuzzReadIndex: whatever the bytes of an index file, reading it returns an
// error or an index whose lookups stay inside its arrays. The CRC is made
// right for each input, so the checks behind it are what is fuzzed (a
// forged file, not only a damaged one).
func FuzzReadIndex(f *testing.F) {
	f.Add(saved(f, smallIndex(f), "reg"))
	f.Add([]byte(indexMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) >= 4 {
			binary.NativeEndian.PutUint32(b[len(b)-4:], crc32.Checksum(b[:len(b)-4], castagnoli))
		}
		ix, err := readIndex(bytes.NewReader(b), int64(len(b)), "reg")
		if err != nil {
			if !errors.Is(err, ErrIndexFile) {
				t.Fatalf("error %v is not ErrIndexFile", err)
			}
			return
		}
		pins := make([]cancuoc.PIN, 0, len(ix.people))
		var probes []cancuoc.MatchProbe
		for i := range ix.people {
			e := &ix.people[i]
			pins = append(pins, pinText(e.pin))
			d := cancuoc.Date{Year: int(e.year), Month: int(e.month), Day: int(e.day)}
			probes = append(probes, cancuoc.MatchProbe{Date: d, Token: ix.blockWord(e, false)},
				cancuoc.MatchProbe{Date: d, Token: ix.blockWord(e, true), ByFirst: true})
		}
		if _, err := ix.MatchRecords(t.Context(), pins, false); err != nil {
			t.Fatal(err)
		}
		if _, err := ix.MatchCandidates(t.Context(), probes, 0); err != nil {
			t.Fatal(err)
		}
	})
}
