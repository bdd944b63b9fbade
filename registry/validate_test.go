package registry_test

import (
	"context"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/registry"
)

func TestRegisterBirthValidation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		now := time.Date(2025, 12, 1, 9, 0, 0, 0, time.UTC)
		w := newWorld(t, b, registry.WithClock(func() time.Time { return now }))
		father := w.person(t, "Chu Văn Bố", cancuoc.Male, hanoi, baDinh)
		valid := func() registry.Birth {
			return registry.Birth{FullName: "Chu Thị Hợp Lệ", BirthDate: cancuoc.Date{Year: 2025, Month: 11, Day: 1}, Sex: cancuoc.Female,
				Registration: *place34(hanoi, baDinh, ""), Ethnicity: "01", Religion: "00",
				Meta: registry.Meta{LegalBasis: "Luật Hộ tịch 2014"}}
		}
		tests := []struct {
			name  string
			edit  func(*registry.Birth)
			field string
			code  string
		}{
			{"commune of another province", func(b *registry.Birth) { b.Registration.Commune = bacLieu }, "registration.commune", "commune_unknown"},
			{"unknown commune", func(b *registry.Birth) { b.Registration.Commune = "99999" }, "registration.commune", "commune_unknown"},
			{"unknown province", func(b *registry.Birth) { b.Registration.Province = "02" }, "registration.province", "province_unknown"},
			{"old-era registration", func(b *registry.Birth) { b.Registration.Era = cancuoc.Era63 }, "registration", "registration_place_required"},
			{"registration without commune", func(b *registry.Birth) { b.Registration.Commune = "" }, "registration", "registration_place_required"},
			{"district on an Era34 residence", func(b *registry.Birth) {
				b.PermanentResidence = &cancuoc.Place{Era: cancuoc.Era34, Province: hanoi, District: "001", Commune: baDinh}
			}, "permanent_residence.district", "district_abolished"},
			{"residence commune not in province", func(b *registry.Birth) { b.PermanentResidence = place34(caMau, baDinh, "") }, "permanent_residence.commune", "commune_unknown"},
			{"birth place without era", func(b *registry.Birth) { b.BirthPlace = &cancuoc.Place{Province: hanoi} }, "birth_place.era", "era_required"},
			{"old-era origin, district of another province", func(b *registry.Birth) {
				b.Origin = &cancuoc.Place{Era: cancuoc.Era63, Province: "40", District: "001"}
			}, "origin.district", "district_unknown"},
			{"bad ethnicity code", func(b *registry.Birth) { b.Ethnicity = "55" }, "ethnicity", "ethnicity_unknown"},
			{"ethnicity as a name", func(b *registry.Birth) { b.Ethnicity = "Kinh" }, "ethnicity", "ethnicity_unknown"},
			{"bad religion code", func(b *registry.Birth) { b.Religion = "99" }, "religion", "religion_unknown"},
			{"bad nationality", func(b *registry.Birth) { b.Nationality = "VN" }, "nationality", "nationality_unknown"},
			{"birth date in the future", func(b *registry.Birth) { b.BirthDate = cancuoc.Date{Year: 2025, Month: 12, Day: 2} }, "birth_date", "birth_date_future"},
			{"partial birth date", func(b *registry.Birth) { b.BirthDate = cancuoc.Date{Year: 2025, Month: 11} }, "birth_date", "birth_date_incomplete"},
			{"no sex", func(b *registry.Birth) { b.Sex = cancuoc.SexUnknown }, "sex", "sex_required"},
			{"name with digits", func(b *registry.Birth) { b.FullName = "Chu Thị 2" }, "full_name", "name_invalid"},
			{"empty name", func(b *registry.Birth) { b.FullName = "  " }, "full_name", "name_invalid"},
			{"unknown father", func(b *registry.Birth) { b.Father = &cancuoc.Relative{PIN: "001190123456"} }, "father.pin", "parent_unknown"},
			{"father as mother", func(b *registry.Birth) { b.Mother = &cancuoc.Relative{PIN: father.PIN} }, "mother.pin", "parent_sex_mismatch"},
			{"empty parent", func(b *registry.Birth) { b.Mother = &cancuoc.Relative{} }, "mother", "relative_empty"},
			{"no legal basis", func(b *registry.Birth) { b.LegalBasis = "" }, "legal_basis", "legal_basis_required"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				seq := lastSeq(t, w.store)
				in := valid()
				tt.edit(&in)
				_, err := w.svc.RegisterBirth(ctx, w.admin, in)
				wantErr(t, tt.name, err, cancuoc.Invalid, tt.code, tt.field)
				if evs := eventsAfter(t, w.store, seq); len(evs) != 0 {
					t.Fatalf("a refused birth wrote events %+v", evs)
				}
			})
		}
		// The base case is valid: each row fails for its own reason.
		if _, err := w.svc.RegisterBirth(ctx, w.admin, valid()); err != nil {
			t.Fatalf("the valid birth: %v", err)
		}
	})
}

func TestUpdateValidation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		w := newWorld(t, b)
		c := w.person(t, "Mai Văn Sửa", cancuoc.Male, hanoi, baDinh)
		tests := []struct {
			name  string
			edit  func(*cancuoc.Citizen)
			field string
			code  string
		}{
			{"PIN/sex mismatch", func(c *cancuoc.Citizen) { c.Sex = cancuoc.Female }, "pin", "pin_sex_mismatch"},
			{"PIN/year mismatch", func(c *cancuoc.Citizen) { c.BirthDate = cancuoc.Date{Year: 1991, Month: 5, Day: 17} }, "pin", "pin_year_mismatch"},
			{"bad sex", func(c *cancuoc.Citizen) { c.Sex = "nam" }, "sex", "sex_invalid"},
			{"no birth date", func(c *cancuoc.Citizen) { c.BirthDate = cancuoc.Date{} }, "birth_date", "birth_date_required"},
			{"phone too short", func(c *cancuoc.Citizen) { c.Phone = "09123" }, "phone", "phone_invalid"},
			{"phone with letters", func(c *cancuoc.Citizen) { c.Phone = "09123abcde" }, "phone", "phone_invalid"},
			{"phone not starting with 0", func(c *cancuoc.Citizen) { c.Phone = "9123456789" }, "phone", "phone_invalid"},
			{"phone +84 too long", func(c *cancuoc.Citizen) { c.Phone = "+8491234567890" }, "phone", "phone_invalid"},
			{"email", func(c *cancuoc.Citizen) { c.Email = "not an email" }, "email", "email_invalid"},
			{"email with name", func(c *cancuoc.Citizen) { c.Email = "An <an@example.vn>" }, "email", "email_invalid"},
			{"old ID number", func(c *cancuoc.Citizen) { c.OldIDNumber = "12345" }, "old_id_number", "old_id_format"},
			{"blood type", func(c *cancuoc.Citizen) { c.BloodType = "C+" }, "blood_type", "blood_type_unknown"},
			{"ethnicity", func(c *cancuoc.Citizen) { c.Ethnicity = "00" }, "ethnicity", "ethnicity_unknown"},
			{"marital status", func(c *cancuoc.Citizen) { c.MaritalStatus = "engaged" }, "marital_status", "marital_status_invalid"},
			{"own spouse", func(c *cancuoc.Citizen) { c.Spouse = &cancuoc.Relative{PIN: c.PIN} }, "spouse.pin", "relative_self"},
			{"child with a bad PIN", func(c *cancuoc.Citizen) { c.Children = []cancuoc.Relative{{PIN: "003203012345"}} }, "children[0].pin", "relative_pin_invalid"},
			{"card without number", func(c *cancuoc.Citizen) { c.Cards = []cancuoc.Card{{Kind: "cccd"}} }, "cards[0].number", "card_number_required"},
			{"district on an Era34 current residence", func(c *cancuoc.Citizen) {
				c.CurrentResidence = &cancuoc.Place{Era: cancuoc.Era34, Province: hanoi, District: "001", Commune: ngocHa}
			}, "current_residence.district", "district_abolished"},
			{"commune of another province", func(c *cancuoc.Citizen) { c.PermanentResidence = place34(hanoi, bacLieu, "") }, "permanent_residence.commune", "commune_unknown"},
			{"Vietnamese units abroad", func(c *cancuoc.Citizen) {
				c.CurrentResidence = &cancuoc.Place{Country: "JPN", Province: hanoi}
			}, "current_residence.province", "foreign_place_units"},
			{"unknown country", func(c *cancuoc.Citizen) { c.CurrentResidence = &cancuoc.Place{Country: "XXX"} }, "current_residence.country", "country_unknown"},
			{"empty place", func(c *cancuoc.Citizen) { c.Origin = &cancuoc.Place{} }, "origin", "place_empty"},
			{"temporary residence ends before it starts", func(c *cancuoc.Citizen) {
				c.TemporaryResidence = &cancuoc.TemporaryResidence{Place: *place34(caMau, bacLieu, ""),
					From: cancuoc.Date{Year: 2025, Month: 6}, Until: cancuoc.Date{Year: 2025, Month: 1}}
			}, "temporary_residence.until", "period_reversed"},
			{"other name", func(c *cancuoc.Citizen) { c.OtherNames = []string{"Tèo", "T3o"} }, "other_names[1]", "name_invalid"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := w.svc.Update(ctx, w.admin, c.PIN, c.Version, meta, func(c *cancuoc.Citizen) error { tt.edit(c); return nil })
				wantErr(t, tt.name, err, cancuoc.Invalid, tt.code, tt.field)
				if got := current(t, w.store, c.PIN); got.Version != c.Version {
					t.Fatalf("a refused update wrote version %d", got.Version)
				}
			})
		}
		// Good values of the same fields pass.
		_, err := w.svc.Update(ctx, w.admin, c.PIN, c.Version, meta, func(c *cancuoc.Citizen) error {
			c.Phone, c.Email, c.OldIDNumber, c.BloodType = "+84912345678", "mai.sua@example.vn", "012345678", "O-"
			c.CurrentResidence = &cancuoc.Place{Country: "JPN", Detail: "Tokyo"}
			c.Cards = []cancuoc.Card{{Number: "001090000123", Kind: "can_cuoc", Status: cancuoc.CardValid}}
			return nil
		})
		if err != nil {
			t.Fatalf("valid update: %v", err)
		}
	})
}
