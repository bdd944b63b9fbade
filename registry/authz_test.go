package registry_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/registry"
)

// Where the target citizen lives, seen from the Ba Đình commune officer
// and the Hà Nội province officer.
const (
	inCommune  = iota // Ba Đình, Hà Nội: the commune officer's own commune
	inProvince        // Ngọc Hà, elsewhere in Hà Nội
	elsewhere         // Bạc Liêu, Cà Mau
)

var targetPlaces = [3]struct{ prov, com string }{{hanoi, baDinh}, {hanoi, ngocHa}, {caMau, bacLieu}}

// The authorization matrix, spelled out: for each role and action, whether
// it is allowed on a citizen [in the commune officer's commune, elsewhere
// in Hà Nội, in Cà Mau]. Everything not allowed must be Forbidden.
var authzMatrix = []struct {
	role   cancuoc.Role
	action string
	allow  [3]bool
}{
	{cancuoc.RoleCommuneOfficer, "Get", [3]bool{true, false, false}},
	{cancuoc.RoleCommuneOfficer, "GetJSON", [3]bool{true, false, false}},
	{cancuoc.RoleCommuneOfficer, "Search", [3]bool{true, false, false}},
	{cancuoc.RoleCommuneOfficer, "History", [3]bool{true, false, false}},
	{cancuoc.RoleCommuneOfficer, "VersionAt", [3]bool{true, false, false}},
	{cancuoc.RoleCommuneOfficer, "RegisterBirth", [3]bool{true, false, false}},
	{cancuoc.RoleCommuneOfficer, "Update", [3]bool{true, false, false}},
	{cancuoc.RoleCommuneOfficer, "RecordDeath", [3]bool{true, false, false}},
	{cancuoc.RoleCommuneOfficer, "RecordMissing", [3]bool{true, false, false}},
	{cancuoc.RoleCommuneOfficer, "Population", [3]bool{true, true, true}},
	{cancuoc.RoleCommuneOfficer, "CreatePrincipal", [3]bool{false, false, false}},

	{cancuoc.RoleProvinceOfficer, "Get", [3]bool{true, true, false}},
	{cancuoc.RoleProvinceOfficer, "GetJSON", [3]bool{true, true, false}},
	{cancuoc.RoleProvinceOfficer, "Search", [3]bool{true, true, false}},
	{cancuoc.RoleProvinceOfficer, "History", [3]bool{true, true, false}},
	{cancuoc.RoleProvinceOfficer, "VersionAt", [3]bool{true, true, false}},
	{cancuoc.RoleProvinceOfficer, "RegisterBirth", [3]bool{true, true, false}},
	{cancuoc.RoleProvinceOfficer, "Update", [3]bool{true, true, false}},
	{cancuoc.RoleProvinceOfficer, "RecordDeath", [3]bool{true, true, false}},
	{cancuoc.RoleProvinceOfficer, "RecordMissing", [3]bool{true, true, false}},
	{cancuoc.RoleProvinceOfficer, "Population", [3]bool{true, true, true}},
	{cancuoc.RoleProvinceOfficer, "CreatePrincipal", [3]bool{false, false, false}},

	{cancuoc.RoleNationalAdmin, "Get", [3]bool{true, true, true}},
	{cancuoc.RoleNationalAdmin, "GetJSON", [3]bool{true, true, true}},
	{cancuoc.RoleNationalAdmin, "Search", [3]bool{true, true, true}},
	{cancuoc.RoleNationalAdmin, "History", [3]bool{true, true, true}},
	{cancuoc.RoleNationalAdmin, "VersionAt", [3]bool{true, true, true}},
	{cancuoc.RoleNationalAdmin, "RegisterBirth", [3]bool{true, true, true}},
	{cancuoc.RoleNationalAdmin, "Update", [3]bool{true, true, true}},
	{cancuoc.RoleNationalAdmin, "RecordDeath", [3]bool{true, true, true}},
	{cancuoc.RoleNationalAdmin, "RecordMissing", [3]bool{true, true, true}},
	{cancuoc.RoleNationalAdmin, "Population", [3]bool{true, true, true}},
	{cancuoc.RoleNationalAdmin, "CreatePrincipal", [3]bool{true, true, true}},

	{cancuoc.RoleMinistrySystem, "Get", [3]bool{true, true, true}},
	{cancuoc.RoleMinistrySystem, "GetJSON", [3]bool{true, true, true}},
	{cancuoc.RoleMinistrySystem, "Search", [3]bool{true, true, true}},
	{cancuoc.RoleMinistrySystem, "History", [3]bool{false, false, false}},
	{cancuoc.RoleMinistrySystem, "VersionAt", [3]bool{false, false, false}},
	{cancuoc.RoleMinistrySystem, "RegisterBirth", [3]bool{false, false, false}},
	{cancuoc.RoleMinistrySystem, "Update", [3]bool{false, false, false}},
	{cancuoc.RoleMinistrySystem, "RecordDeath", [3]bool{false, false, false}},
	{cancuoc.RoleMinistrySystem, "RecordMissing", [3]bool{false, false, false}},
	{cancuoc.RoleMinistrySystem, "Population", [3]bool{true, true, true}},
	{cancuoc.RoleMinistrySystem, "CreatePrincipal", [3]bool{false, false, false}},

	{cancuoc.RoleAuditor, "Get", [3]bool{true, true, true}},
	{cancuoc.RoleAuditor, "GetJSON", [3]bool{true, true, true}},
	{cancuoc.RoleAuditor, "Search", [3]bool{true, true, true}},
	{cancuoc.RoleAuditor, "History", [3]bool{true, true, true}},
	{cancuoc.RoleAuditor, "VersionAt", [3]bool{true, true, true}},
	{cancuoc.RoleAuditor, "RegisterBirth", [3]bool{false, false, false}},
	{cancuoc.RoleAuditor, "Update", [3]bool{false, false, false}},
	{cancuoc.RoleAuditor, "RecordDeath", [3]bool{false, false, false}},
	{cancuoc.RoleAuditor, "RecordMissing", [3]bool{false, false, false}},
	{cancuoc.RoleAuditor, "Population", [3]bool{true, true, true}},
	{cancuoc.RoleAuditor, "CreatePrincipal", [3]bool{false, false, false}},

	// A lodging makes stay notifications (package residence) and nothing here.
	{cancuoc.RoleLodging, "Get", [3]bool{false, false, false}},
	{cancuoc.RoleLodging, "GetJSON", [3]bool{false, false, false}},
	{cancuoc.RoleLodging, "Search", [3]bool{false, false, false}},
	{cancuoc.RoleLodging, "History", [3]bool{false, false, false}},
	{cancuoc.RoleLodging, "VersionAt", [3]bool{false, false, false}},
	{cancuoc.RoleLodging, "RegisterBirth", [3]bool{false, false, false}},
	{cancuoc.RoleLodging, "Update", [3]bool{false, false, false}},
	{cancuoc.RoleLodging, "RecordDeath", [3]bool{false, false, false}},
	{cancuoc.RoleLodging, "RecordMissing", [3]bool{false, false, false}},
	{cancuoc.RoleLodging, "Population", [3]bool{false, false, false}},
	{cancuoc.RoleLodging, "CreatePrincipal", [3]bool{false, false, false}},
}

// writeActions change a citizen; each cell gets a fresh target so one
// allowed death does not turn the next cell into "already dead".
var writeActions = map[string]bool{"Update": true, "RecordDeath": true, "RecordMissing": true}

func TestAuthorizationMatrix(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		w := newWorld(t, b)
		principals := map[cancuoc.Role]*cancuoc.Principal{
			cancuoc.RoleCommuneOfficer:  w.principal(t, cancuoc.RoleCommuneOfficer, cancuoc.Jurisdiction{Province: hanoi, Commune: baDinh}),
			cancuoc.RoleProvinceOfficer: w.principal(t, cancuoc.RoleProvinceOfficer, cancuoc.Jurisdiction{Province: hanoi}),
			cancuoc.RoleNationalAdmin:   w.principal(t, cancuoc.RoleNationalAdmin, cancuoc.Jurisdiction{}),
			cancuoc.RoleMinistrySystem:  w.principal(t, cancuoc.RoleMinistrySystem, cancuoc.Jurisdiction{}),
			cancuoc.RoleAuditor:         w.principal(t, cancuoc.RoleAuditor, cancuoc.Jurisdiction{}),
			cancuoc.RoleLodging:         w.principal(t, cancuoc.RoleLodging, cancuoc.Jurisdiction{Province: hanoi, Commune: baDinh}),
		}
		names := [3]string{"Trần Thị Mai", "Lê Văn Hùng", "Phạm Thị Lan"}
		var shared [3]*cancuoc.Citizen
		for i, pl := range targetPlaces {
			shared[i] = w.person(t, names[i], []cancuoc.Sex{cancuoc.Female, cancuoc.Male, cancuoc.Female}[i], pl.prov, pl.com)
		}
		seen := map[string]bool{}
		for _, row := range authzMatrix {
			seen[string(row.role)+"/"+row.action] = true
			for where := range 3 {
				row, where := row, where
				t.Run(fmt.Sprintf("%s/%s/%s", row.role, row.action, []string{"own_commune", "hanoi", "camau"}[where]), func(t *testing.T) {
					p := principals[row.role]
					tgt := shared[where]
					pl := targetPlaces[where]
					if writeActions[row.action] {
						tgt = w.person(t, "Đỗ Văn Thử", cancuoc.Male, pl.prov, pl.com)
					}
					err := do(ctx, w, p, row.action, tgt, pl.prov, pl.com)
					if row.allow[where] {
						if err != nil {
							t.Fatalf("%s %s on a citizen of %s/%s: %v, want allowed", row.role, row.action, pl.prov, pl.com, err)
						}
						return
					}
					if !errors.Is(err, cancuoc.ErrForbidden) {
						t.Fatalf("%s %s on a citizen of %s/%s: %v, want Forbidden", row.role, row.action, pl.prov, pl.com, err)
					}
					if writeActions[row.action] {
						if got := current(t, w.store, tgt.PIN); got.Version != tgt.Version || got.LifeStatus != cancuoc.Alive || got.Phone != "" {
							t.Fatalf("refused %s changed the record: version %d→%d, %s, phone %q", row.action, tgt.Version, got.Version, got.LifeStatus, got.Phone)
						}
					}
				})
			}
		}
		// The table covers every role × action.
		for _, r := range cancuoc.Roles() {
			for _, a := range []string{"Get", "GetJSON", "Search", "History", "VersionAt", "RegisterBirth", "Update", "RecordDeath", "RecordMissing", "Population", "CreatePrincipal"} {
				if !seen[string(r)+"/"+a] {
					t.Errorf("matrix has no row for %s/%s", r, a)
				}
			}
		}
	})
}

// do performs one action of the matrix as p on a target citizen living in
// prov/com (for RegisterBirth and CreatePrincipal: at prov/com).
func do(ctx context.Context, w *world, p *cancuoc.Principal, action string, tgt *cancuoc.Citizen, prov, com string) error {
	s := w.svc
	switch action {
	case "Get":
		c, err := s.Get(ctx, p, tgt.PIN, "kiểm tra quyền")
		if err == nil && c.PIN != tgt.PIN {
			return fmt.Errorf("Get returned %s", c.PIN)
		}
		return err
	case "GetJSON":
		doc, _, err := s.GetJSON(ctx, p, tgt.PIN, "kiểm tra quyền")
		var c cancuoc.Citizen
		if err == nil {
			if jerr := json.Unmarshal(doc, &c); jerr != nil || c.PIN != tgt.PIN {
				return fmt.Errorf("GetJSON returned %s (%v)", c.PIN, jerr)
			}
		}
		return err
	case "Search":
		found, err := s.Search(ctx, p, registry.Search{Name: tgt.FullName, Province: prov, Commune: com, Purpose: "kiểm tra quyền"})
		if err == nil && !slices.ContainsFunc(found, func(c *cancuoc.Citizen) bool { return c.PIN == tgt.PIN }) {
			return fmt.Errorf("allowed Search did not find the target (%d found)", len(found))
		}
		return err
	case "History":
		vs, err := s.History(ctx, p, tgt.PIN, "kiểm tra quyền")
		if err == nil && len(vs) == 0 {
			return errors.New("History is empty")
		}
		return err
	case "VersionAt":
		v, err := s.VersionAt(ctx, p, tgt.PIN, time.Now().Add(time.Hour), "kiểm tra quyền")
		if err == nil && v.PIN != tgt.PIN {
			return fmt.Errorf("VersionAt returned %s", v.PIN)
		}
		return err
	case "RegisterBirth":
		_, err := s.RegisterBirth(ctx, p, registry.Birth{FullName: "Nguyễn Thị Bé", BirthDate: cancuoc.Date{Year: 2025, Month: 1, Day: 2},
			Sex: cancuoc.Female, Registration: *place34(prov, com, ""), Meta: registry.Meta{LegalBasis: "Luật Hộ tịch 2014"}})
		return err
	case "Update":
		_, err := s.Update(ctx, p, tgt.PIN, tgt.Version, meta, func(c *cancuoc.Citizen) error {
			c.Phone = "0912345678"
			return nil
		})
		return err
	case "RecordDeath":
		_, err := s.RecordDeath(ctx, p, tgt.PIN, registry.Death{Date: cancuoc.Date{Year: 2025, Month: 3, Day: 1}, Meta: meta})
		return err
	case "RecordMissing":
		_, err := s.RecordMissing(ctx, p, tgt.PIN, registry.Missing{Since: cancuoc.Date{Year: 2025, Month: 3, Day: 1}, Meta: meta})
		return err
	case "Population":
		counts, err := s.Population(ctx, p, "")
		if err == nil && len(counts) == 0 {
			return errors.New("Population is empty")
		}
		return err
	case "CreatePrincipal":
		np, key, err := s.CreatePrincipal(ctx, p, registry.NewPrincipal{Name: "Cán bộ mới", Role: cancuoc.RoleCommuneOfficer,
			Jurisdiction: cancuoc.Jurisdiction{Province: prov, Commune: com}})
		if err == nil && (np == nil || key == "") {
			return errors.New("CreatePrincipal returned no principal or key")
		}
		return err
	}
	return fmt.Errorf("unknown action %q", action)
}

// TestWritesRefusedForReadOnlyRoles checks that auditors and ministries'
// systems cannot write whatever the target, with the role refusal code.
func TestWritesRefusedForReadOnlyRoles(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		w := newWorld(t, b)
		for _, role := range []cancuoc.Role{cancuoc.RoleAuditor, cancuoc.RoleMinistrySystem} {
			p := w.principal(t, role, cancuoc.Jurisdiction{})
			for _, act := range []registry.Action{registry.ActRegisterBirth, registry.ActUpdate, registry.ActRecordDeath,
				registry.ActRecordMissing, registry.ActManagePrincipals} {
				if registry.Allowed(role, act) {
					t.Errorf("Allowed(%s, %s) = true", role, act)
				}
			}
			tgt := w.person(t, "Vũ Thị Hoa", cancuoc.Female, hanoi, baDinh)
			for _, action := range []string{"RegisterBirth", "Update", "RecordDeath", "RecordMissing", "CreatePrincipal"} {
				err := do(ctx, w, p, action, tgt, hanoi, baDinh)
				wantErr(t, string(role)+" "+action, err, cancuoc.Forbidden, "role_forbidden", "")
			}
			if err := w.svc.Import(ctx, p, nil, meta); !errors.Is(err, cancuoc.ErrForbidden) {
				t.Errorf("%s Import: %v, want Forbidden", role, err)
			}
			if got := current(t, w.store, tgt.PIN); got.Version != tgt.Version {
				t.Errorf("%s: record changed to version %d", role, got.Version)
			}
		}
		// No principal at all is unauthenticated, not forbidden.
		_, err := w.svc.Get(ctx, nil, "001090000001", "x")
		wantErr(t, "Get without principal", err, cancuoc.Unauthenticated, "", "")
		_, err = w.svc.RegisterBirth(ctx, nil, registry.Birth{})
		wantErr(t, "RegisterBirth without principal", err, cancuoc.Unauthenticated, "", "")
	})
}

// TestMinistryReadIsRedacted checks that a ministry's system receives only
// the fields VisibleFields allows, by Get and by Search, and that the
// audit log names exactly the fields released.
func TestMinistryReadIsRedacted(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		w := newWorld(t, b)
		ministry := w.principal(t, cancuoc.RoleMinistrySystem, cancuoc.Jurisdiction{})
		father := w.person(t, "Hoàng Văn Bố", cancuoc.Male, hanoi, baDinh)
		full, err := w.svc.RegisterBirth(ctx, w.admin, registry.Birth{FullName: "Hoàng Thị Con", BirthDate: cancuoc.Date{Year: 2001, Month: 2, Day: 3},
			Sex: cancuoc.Female, Registration: *place34(hanoi, baDinh, ""), PermanentResidence: place34(hanoi, baDinh, "12 Đội Cấn"),
			Father: &cancuoc.Relative{PIN: father.PIN}, Ethnicity: "02", Religion: "01", Meta: registry.Meta{LegalBasis: "Luật Hộ tịch 2014"}})
		if err != nil {
			t.Fatal(err)
		}
		full, err = w.svc.Update(ctx, w.admin, full.PIN, full.Version, meta, func(c *cancuoc.Citizen) error {
			c.Phone, c.Email, c.BloodType, c.OldIDNumber = "0987654321", "hoa@example.vn", "AB+", "012345678"
			c.Other = map[string]string{"ghi_chu": "x"}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		vis := registry.VisibleFields(cancuoc.RoleMinistrySystem)
		if vis == nil || vis["ethnicity"] || vis["religion"] || vis["phone"] || vis["email"] || vis["father"] || vis["blood_type"] || !vis["full_name"] || !vis["pin"] {
			t.Fatalf("VisibleFields(ministry) = %v", vis)
		}
		if registry.VisibleFields(cancuoc.RoleAuditor) != nil {
			t.Error("auditor fields are restricted")
		}

		got, err := w.svc.Get(ctx, ministry, full.PIN, "xác minh bảo hiểm")
		if err != nil {
			t.Fatal(err)
		}
		checkRedacted(t, "Get", got, full, vis)
		doc, _, err := w.svc.GetJSON(ctx, ministry, full.PIN, "xác minh bảo hiểm")
		if err != nil {
			t.Fatal(err)
		}
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(doc, &keys); err != nil {
			t.Fatal(err)
		}
		for k := range keys {
			if !vis[k] {
				t.Errorf("GetJSON released %q to a ministry system", k)
			}
		}
		var fromDoc cancuoc.Citizen
		_ = json.Unmarshal(doc, &fromDoc)
		checkRedacted(t, "GetJSON", &fromDoc, full, vis)
		found, err := w.svc.Search(ctx, ministry, registry.Search{Name: "hoang thi con", Purpose: "xác minh"})
		if err != nil || len(found) != 1 {
			t.Fatalf("Search: %d found, %v", len(found), err)
		}
		checkRedacted(t, "Search", found[0], full, vis)

		// The stored record is untouched by redaction.
		if c := current(t, w.store, full.PIN); c.Ethnicity != "02" || c.Phone != "0987654321" {
			t.Fatalf("redaction changed the stored record: %+v", c)
		}

		// The access log names what was released, and only that.
		es := auditEntries(t, w.store, full.PIN)
		for _, act := range []registry.Action{registry.ActRead, registry.ActSearch} {
			e := findAudit(es, ministry.ID, act)
			if e == nil {
				t.Fatalf("no audit entry for the ministry's %s", act)
			}
			if e.Outcome != "ok" || len(e.Fields) == 0 {
				t.Errorf("%s audit entry: %+v", act, e)
			}
			for _, f := range e.Fields {
				if !vis[f] {
					t.Errorf("%s audit entry names field %q the ministry may not see", act, f)
				}
			}
			if !slices.Contains(e.Fields, "full_name") {
				t.Errorf("%s audit entry %v does not name full_name", act, e.Fields)
			}
		}
		if e := findAudit(es, ministry.ID, registry.ActRead); e.Purpose != "xác minh bảo hiểm" {
			t.Errorf("read purpose = %q", e.Purpose)
		}
	})
}

func checkRedacted(t *testing.T, what string, got, full *cancuoc.Citizen, vis map[string]bool) {
	t.Helper()
	if got.Ethnicity != "" || got.Phone != "" || got.Religion != "" || got.Email != "" || got.BloodType != "" ||
		got.Father != nil || got.OldIDNumber != "" || got.Other != nil || got.Origin != nil || got.BirthRegistration != nil {
		t.Errorf("%s: ministry received hidden fields: ethnicity %q phone %q religion %q email %q blood %q father %v",
			what, got.Ethnicity, got.Phone, got.Religion, got.Email, got.BloodType, got.Father)
	}
	g, f, z := jsonFields(t, got), jsonFields(t, full), jsonFields(t, &cancuoc.Citizen{})
	for k := range f {
		switch {
		case vis[k] && string(g[k]) != string(f[k]):
			t.Errorf("%s: visible field %s = %s, want %s", what, k, g[k], f[k])
		case !vis[k] && string(g[k]) != string(z[k]):
			t.Errorf("%s: hidden field %s = %s was released", what, k, g[k])
		}
	}
}

func jsonFields(t *testing.T, c *cancuoc.Citizen) map[string]json.RawMessage {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestReadsAreAudited checks that allowed reads are logged with their
// fields and refused reads with their refusal code.
func TestReadsAreAudited(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		w := newWorld(t, b)
		officer := w.principal(t, cancuoc.RoleCommuneOfficer, cancuoc.Jurisdiction{Province: hanoi, Commune: baDinh})
		mine := w.person(t, "Ngô Thị Thu", cancuoc.Female, hanoi, baDinh)
		far := w.person(t, "Ngô Văn Xa", cancuoc.Male, caMau, bacLieu)

		if _, err := w.svc.Get(ctx, officer, mine.PIN, "giải quyết hồ sơ 12"); err != nil {
			t.Fatal(err)
		}
		e := findAudit(auditEntries(t, w.store, mine.PIN), officer.ID, registry.ActRead)
		if e == nil || e.Outcome != "ok" || !slices.Equal(e.Fields, []string{"*"}) || e.Purpose != "giải quyết hồ sơ 12" || e.PIN != mine.PIN || e.At.IsZero() {
			t.Fatalf("allowed read audit entry: %+v", e)
		}

		for _, tc := range []struct {
			action registry.Action
			call   func() error
		}{
			{registry.ActRead, func() error { _, err := w.svc.Get(ctx, officer, far.PIN, "tò mò"); return err }},
			{registry.ActHistory, func() error { _, err := w.svc.History(ctx, officer, far.PIN, "tò mò"); return err }},
			{registry.ActHistory, func() error {
				_, err := w.svc.VersionAt(ctx, officer, far.PIN, time.Now(), "tò mò")
				return err
			}},
			{registry.ActHistory, func() error { _, err := w.svc.Version(ctx, officer, far.PIN, 1, "tò mò"); return err }},
		} {
			before := len(auditEntries(t, w.store, far.PIN))
			err := tc.call()
			wantErr(t, "read outside jurisdiction", err, cancuoc.Forbidden, "outside_jurisdiction", "")
			es := auditEntries(t, w.store, far.PIN)
			if len(es) != before+1 {
				t.Fatalf("refused %s: %d audit entries, want %d", tc.action, len(es), before+1)
			}
			if e := es[0]; e.Actor != officer.ID || e.Action != string(tc.action) || e.Outcome != "outside_jurisdiction" ||
				len(e.Fields) != 0 || e.Purpose != "tò mò" {
				t.Fatalf("refused %s audit entry: %+v", tc.action, e)
			}
		}

		// History reads are logged too.
		if _, err := w.svc.History(ctx, officer, mine.PIN, "đối chiếu"); err != nil {
			t.Fatal(err)
		}
		if e := findAudit(auditEntries(t, w.store, mine.PIN), officer.ID, registry.ActHistory); e == nil || e.Outcome != "ok" {
			t.Fatalf("history audit entry: %+v", e)
		}
		// A search outside the commune is refused; one inside is confined
		// to it even when no place is asked for.
		_, err := w.svc.Search(ctx, officer, registry.Search{Name: "Ngô", NamePrefix: true, Province: caMau})
		wantErr(t, "search in Cà Mau", err, cancuoc.Forbidden, "outside_jurisdiction", "")
		found, err := w.svc.Search(ctx, officer, registry.Search{Name: "ngo", NamePrefix: true})
		if err != nil || len(found) != 1 || found[0].PIN != mine.PIN {
			t.Fatalf("confined search: %v, %v", found, err)
		}
	})
}
