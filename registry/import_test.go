package registry_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/registry"
)

func importRecord(t *testing.T, serial uint32, name string, sex cancuoc.Sex, prov, com string) *cancuoc.Citizen {
	t.Helper()
	pin, err := cancuoc.NewPIN("0"+prov, sex, 1975, serial)
	if err != nil {
		t.Fatal(err)
	}
	return &cancuoc.Citizen{PIN: pin, FullName: name, BirthDate: cancuoc.Date{Year: 1975, Month: 4}, Sex: sex,
		BirthRegistration:  &cancuoc.Place{Era: cancuoc.Era63, Province: prov},
		PermanentResidence: place34(prov, com, "tổ 5"), Ethnicity: "01", Nationality: "VNM", MaritalStatus: cancuoc.Married}
}

var importMeta = registry.Meta{Reason: "Chuyển đổi dữ liệu cũ", LegalBasis: "Đề án 06", Agency: "C06"}

func TestImport(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		w := newWorld(t, b)
		seq := lastSeq(t, w.store)
		batch := []*cancuoc.Citizen{
			importRecord(t, 101, "Ông Văn Một", cancuoc.Male, hanoi, baDinh),
			importRecord(t, 102, "Bà Thị Hai", cancuoc.Female, hanoi, ngocHa),
			importRecord(t, 103, "Ông Văn Ba", cancuoc.Male, caMau, bacLieu),
		}
		if err := w.svc.Import(ctx, w.admin, batch, importMeta); err != nil {
			t.Fatal(err)
		}
		for _, in := range batch {
			c := current(t, w.store, in.PIN)
			if c.Version != 1 || c.LifeStatus != cancuoc.Alive || c.FullName != in.FullName || c.NameKey == "" ||
				c.Home != (cancuoc.UnitRef{Province: in.PermanentResidence.Province, Commune: in.PermanentResidence.Commune}) {
				t.Errorf("imported %s: %+v", in.PIN, c)
			}
			vs, err := w.store.Versions(ctx, in.PIN)
			if err != nil || len(vs) != 1 {
				t.Fatalf("imported %s: %d versions, %v", in.PIN, len(vs), err)
			}
			if v := vs[0]; v.Version != 1 || v.Actor != w.admin.ID || v.Reason != importMeta.Reason || v.LegalBasis != importMeta.LegalBasis ||
				v.Agency != importMeta.Agency || v.Citizen == nil || v.Citizen.FullName != in.FullName {
				t.Errorf("imported %s: version %+v", in.PIN, v)
			}
		}
		evs := eventsAfter(t, w.store, seq)
		if len(evs) != 1 || evs[0].Type != cancuoc.EventCitizensLoaded || evs[0].Actor != w.admin.ID {
			t.Fatalf("events after the import: %+v", evs)
		}
		var data struct {
			Count int `json:"count"`
		}
		if err := json.Unmarshal(evs[0].Data, &data); err != nil || data.Count != 3 {
			t.Errorf("load event data %s", evs[0].Data)
		}
		for _, in := range batch {
			if strings.Contains(string(evs[0].Data), in.FullName) || strings.Contains(string(evs[0].Data), string(in.PIN)) {
				t.Errorf("load event carries personal data: %s", evs[0].Data)
			}
		}
		// The console (no principal) may import; officers may not.
		if err := w.svc.Import(ctx, nil, []*cancuoc.Citizen{importRecord(t, 104, "Ông Văn Bốn", cancuoc.Male, hanoi, baDinh)}, importMeta); err != nil {
			t.Fatalf("console import: %v", err)
		}
		prov := w.principal(t, cancuoc.RoleProvinceOfficer, cancuoc.Jurisdiction{Province: hanoi})
		err := w.svc.Import(ctx, prov, []*cancuoc.Citizen{importRecord(t, 105, "Ông Văn Năm", cancuoc.Male, hanoi, baDinh)}, importMeta)
		wantErr(t, "officer import", err, cancuoc.Forbidden, "role_forbidden", "")
		err = w.svc.Import(ctx, w.admin, []*cancuoc.Citizen{importRecord(t, 106, "Ông Văn Sáu", cancuoc.Male, hanoi, baDinh)}, registry.Meta{Reason: "x"})
		wantErr(t, "import without legal basis", err, cancuoc.Invalid, "legal_basis_required", "legal_basis")
	})
}

func TestImportAllOrNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		w := newWorld(t, b)
		existing := w.person(t, "Người Đã Có", cancuoc.Male, hanoi, baDinh)
		tests := []struct {
			name  string
			bad   func(*cancuoc.Citizen)
			kind  cancuoc.Kind
			field string
			code  string
		}{
			{"bad phone", func(c *cancuoc.Citizen) { c.Phone = "123" }, cancuoc.Invalid, "records[1].phone", "phone_invalid"},
			{"unknown commune", func(c *cancuoc.Citizen) { c.PermanentResidence.Commune = bacLieu }, cancuoc.Invalid, "records[1].permanent_residence.commune", "commune_unknown"},
			{"PIN/sex mismatch", func(c *cancuoc.Citizen) { c.Sex = cancuoc.Female }, cancuoc.Invalid, "records[1].pin", "pin_sex_mismatch"},
			{"dead without date", func(c *cancuoc.Citizen) { c.LifeStatus = cancuoc.Dead }, cancuoc.Invalid, "records[1].death_date", "death_date_required"},
			{"malformed PIN", func(c *cancuoc.Citizen) { c.PIN = "12345" }, cancuoc.Invalid, "records[1].pin", "pin_format"},
			{"no PIN", func(c *cancuoc.Citizen) { c.PIN = "" }, cancuoc.Invalid, "records[1].pin", "pin_format"},
			{"unknown PIN region", func(c *cancuoc.Citizen) { c.PIN = "003175000201" }, cancuoc.Invalid, "records[1].pin", "pin_region_unknown"},
			{"PIN already registered", func(c *cancuoc.Citizen) {
				c.PIN, c.BirthDate, c.Sex = existing.PIN, existing.BirthDate, existing.Sex
			}, cancuoc.Conflict, "", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				seq := lastSeq(t, w.store)
				batch := []*cancuoc.Citizen{
					importRecord(t, 201, "Ông Văn Đầu", cancuoc.Male, hanoi, baDinh),
					importRecord(t, 202, "Ông Văn Giữa", cancuoc.Male, hanoi, baDinh),
					importRecord(t, 203, "Bà Thị Cuối", cancuoc.Female, hanoi, baDinh),
				}
				tt.bad(batch[1])
				err := w.svc.Import(ctx, w.admin, batch, importMeta)
				wantErr(t, tt.name, err, tt.kind, tt.code, tt.field)
				for i, c := range batch {
					if i == 1 {
						continue
					}
					if _, err := w.store.Citizen(ctx, c.PIN); !errors.Is(err, cancuoc.ErrNotFound) {
						t.Errorf("record %d was imported from a refused batch: %v", i, err)
					}
					if vs, _ := w.store.Versions(ctx, c.PIN); len(vs) != 0 {
						t.Errorf("record %d has history from a refused batch", i)
					}
				}
				if evs := eventsAfter(t, w.store, seq); len(evs) != 0 {
					t.Errorf("a refused batch wrote events %+v", evs)
				}
			})
		}
		if got := current(t, w.store, existing.PIN); got.Version != existing.Version || got.FullName != existing.FullName {
			t.Errorf("a refused batch changed an existing record: %+v", got)
		}
	})
}
