package registry_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/registry"
)

func TestAuthenticate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		svc, store := newService(t, b)
		p, key, err := svc.CreatePrincipal(ctx, nil, registry.NewPrincipal{Name: "Hệ thống BHXH", Role: cancuoc.RoleMinistrySystem,
			Agency: "Bảo hiểm xã hội Việt Nam"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(key, "cck_") {
			t.Fatalf("key %q", key)
		}
		stored, err := store.Principal(ctx, p.ID)
		if err != nil || stored.Role != cancuoc.RoleMinistrySystem || stored.Name != "Hệ thống BHXH" {
			t.Fatalf("stored principal %+v, %v", stored, err)
		}
		for range 2 { // the second time from the cache
			got, err := svc.Authenticate(ctx, key)
			if err != nil || got.ID != p.ID || got.Role != cancuoc.RoleMinistrySystem {
				t.Fatalf("Authenticate(own key) = %+v, %v", got, err)
			}
		}
		id, secret, _ := strings.Cut(strings.TrimPrefix(key, "cck_"), "_")
		other, otherKey, err := svc.CreatePrincipal(ctx, nil, registry.NewPrincipal{Name: "Kiểm toán", Role: cancuoc.RoleAuditor})
		if err != nil {
			t.Fatal(err)
		}
		otherID, otherSecret, _ := strings.Cut(strings.TrimPrefix(otherKey, "cck_"), "_")
		if got, err := svc.Authenticate(ctx, otherKey); err != nil || got.ID != other.ID {
			t.Fatalf("second principal: %+v, %v", got, err)
		}
		flip := []byte(secret)
		flip[0] ^= 1
		for name, bad := range map[string]string{
			"wrong secret":             "cck_" + id + "_" + string(flip),
			"secret of another key":    "cck_" + id + "_" + otherSecret,
			"id of another key":        "cck_" + otherID + "_" + secret,
			"secret with extra":        key + "x",
			"truncated secret":         key[:len(key)-1],
			"unknown id":               "cck_aaaaaaaaaaaaaaaa_" + secret,
			"empty":                    "",
			"no prefix":                id + "_" + secret,
			"wrong prefix":             "ck_" + id + "_" + secret,
			"prefix only":              "cck_",
			"no secret":                "cck_" + id,
			"empty secret":             "cck_" + id + "_",
			"empty id":                 "cck__" + secret,
			"Bearer header pasted":     "Bearer " + key,
			"upper-case prefix":        "CCK_" + id + "_" + secret,
			"surrounding space":        " " + key,
			"sql-ish id":               "cck_' OR '1'='1_" + secret,
			"very long":                "cck_" + strings.Repeat("a", 10000) + "_" + secret,
			"principal id, not key id": "cck_" + p.ID + "_" + secret,
		} {
			got, err := svc.Authenticate(ctx, bad)
			if got != nil || err == nil {
				t.Errorf("%s: Authenticate = %+v, %v; want Unauthenticated", name, got, err)
				continue
			}
			wantErr(t, name, err, cancuoc.Unauthenticated, "api_key_invalid", "")
		}
	})
}

func TestBootstrap(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		svc, store := newService(t, b)
		key, created, err := svc.Bootstrap(ctx)
		if err != nil || !created || key == "" {
			t.Fatalf("first Bootstrap = %q, %v, %v", key, created, err)
		}
		p, err := svc.Authenticate(ctx, key)
		if err != nil || p.Role != cancuoc.RoleNationalAdmin || !p.Jurisdiction.National() {
			t.Fatalf("bootstrap key authenticates as %+v, %v", p, err)
		}
		for range 2 {
			again, created, err := svc.Bootstrap(ctx)
			if err != nil || created || again != "" {
				t.Fatalf("later Bootstrap = %q, %v, %v; want no new key", again, created, err)
			}
		}
		ps, err := store.Principals(ctx)
		if err != nil || len(ps) != 1 {
			t.Fatalf("%d principals after bootstraps, %v", len(ps), err)
		}
		// The bootstrap administrator can create others.
		if _, _, err := svc.CreatePrincipal(ctx, p, registry.NewPrincipal{Name: "Cán bộ xã", Role: cancuoc.RoleCommuneOfficer,
			Jurisdiction: cancuoc.Jurisdiction{Commune: baDinh}}); err != nil {
			t.Fatalf("bootstrap admin creates a principal: %v", err)
		}
	})
}

func TestCreatePrincipalValidation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		w := newWorld(t, b)
		tests := []struct {
			name  string
			np    registry.NewPrincipal
			field string
			code  string
		}{
			{"no name", registry.NewPrincipal{Role: cancuoc.RoleAuditor}, "name", "name_required"},
			{"unknown role", registry.NewPrincipal{Name: "x", Role: "superuser"}, "role", "role_unknown"},
			{"commune officer without commune", registry.NewPrincipal{Name: "x", Role: cancuoc.RoleCommuneOfficer,
				Jurisdiction: cancuoc.Jurisdiction{Province: hanoi}}, "jurisdiction.commune", "jurisdiction_required"},
			{"commune of another province", registry.NewPrincipal{Name: "x", Role: cancuoc.RoleCommuneOfficer,
				Jurisdiction: cancuoc.Jurisdiction{Province: hanoi, Commune: bacLieu}}, "jurisdiction.commune", "commune_unknown"},
			{"old province", registry.NewPrincipal{Name: "x", Role: cancuoc.RoleProvinceOfficer,
				Jurisdiction: cancuoc.Jurisdiction{Province: "02"}}, "jurisdiction.province", "province_unknown"},
			{"province officer with commune", registry.NewPrincipal{Name: "x", Role: cancuoc.RoleProvinceOfficer,
				Jurisdiction: cancuoc.Jurisdiction{Province: hanoi, Commune: baDinh}}, "jurisdiction.province", "jurisdiction_required"},
			{"local national admin", registry.NewPrincipal{Name: "x", Role: cancuoc.RoleNationalAdmin,
				Jurisdiction: cancuoc.Jurisdiction{Province: hanoi}}, "jurisdiction", "jurisdiction_national"},
			{"bad officer PIN", registry.NewPrincipal{Name: "x", Role: cancuoc.RoleAuditor, OfficerPIN: "123"}, "pin", "pin_format"},
		}
		for _, tt := range tests {
			_, key, err := w.svc.CreatePrincipal(ctx, w.admin, tt.np)
			wantErr(t, tt.name, err, cancuoc.Invalid, tt.code, tt.field)
			if key != "" {
				t.Errorf("%s: a key was returned", tt.name)
			}
		}
		// A commune alone is enough: the province is filled in.
		p, _, err := w.svc.CreatePrincipal(ctx, w.admin, registry.NewPrincipal{Name: "Cán bộ", Role: cancuoc.RoleCommuneOfficer,
			Jurisdiction: cancuoc.Jurisdiction{Commune: bacLieu}})
		if err != nil || p.Jurisdiction != (cancuoc.Jurisdiction{Province: caMau, Commune: bacLieu}) {
			t.Fatalf("commune-only jurisdiction: %+v, %v", p, err)
		}
	})
}
