package sqlite

import (
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/storetest"
)

// TestHistoryDocReuse: a history row takes the JSON of the record stored
// just before only when it is that record unchanged; another record with
// the same PIN and version, or the stored record given a new version
// since, is encoded for itself.
func TestHistoryDocReuse(t *testing.T) {
	s := openTxLogStore(t)
	ctx := t.Context()
	pin := storetest.PIN(1)
	c := storetest.Citizen(pin)
	version := func(c *cancuoc.Citizen) *cancuoc.CitizenVersion {
		return &cancuoc.CitizenVersion{PIN: c.PIN, Version: c.Version, At: c.UpdatedAt, Actor: "officer", Citizen: c}
	}
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.InsertCitizen(ctx, c); err != nil {
			return err
		}
		other := c.Clone() // same PIN and version, another record
		other.FullName = "Bản khác"
		if err := tx.AppendVersion(ctx, version(other)); err != nil {
			return err
		}
		n := c.Clone()
		n.Version, n.UpdatedAt, n.FullName = 2, c.UpdatedAt.Add(time.Minute), "Tên mới"
		if err := tx.UpdateCitizen(ctx, n, 1); err != nil {
			return err
		}
		if err := tx.AppendVersion(ctx, version(n)); err != nil { // the stored record itself
			return err
		}
		n.Version, n.FullName = 3, "Đổi sau khi lưu" // changed after it was stored
		return tx.AppendVersion(ctx, version(n))
	})
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[int64]string{1: "Bản khác", 2: "Tên mới", 3: "Đổi sau khi lưu"} {
		got, err := s.Version(ctx, pin, v)
		if err != nil {
			t.Fatal(err)
		}
		if got.Citizen.FullName != want || got.Citizen.Version != v {
			t.Errorf("version %d holds %q (version %d), want %q", v, got.Citizen.FullName, got.Citizen.Version, want)
		}
	}
}
