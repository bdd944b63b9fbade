package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// T0 is the base instant of the fixtures. It carries a non-UTC zone and
// whole microseconds: backends must keep the instant exactly to the
// microsecond (PostgreSQL's resolution) but need not keep the zone.
var T0 = time.Date(2025, 7, 1, 8, 30, 15, 123456000, time.FixedZone("ICT", 7*3600))

// PIN returns a valid PIN for serial n (0–999999): registered in Hà Nội,
// male, born in 1990. Fixtures derive sex and birth year from their PIN so
// the records stay plausible.
func PIN(n int) cancuoc.PIN {
	return PINFor("001", cancuoc.Male, 1990, n)
}

// PINFor returns a valid PIN and panics on bad arguments, since fixtures
// are written by hand and a typo should stop the test at once.
func PINFor(region string, sex cancuoc.Sex, year, n int) cancuoc.PIN {
	p, err := cancuoc.NewPIN(region, sex, year, uint32(n))
	if err != nil {
		panic(err)
	}
	return p
}

// Citizen returns a valid, fully populated live record for pin at version 1:
// every field a storage backend has to carry is set, including partial
// dates, places of both administrative eras, relatives, cards, a household
// and the free-form Other map. Names are NFC, as the registry stores them.
func Citizen(pin cancuoc.PIN) *cancuoc.Citizen {
	year := pin.BirthYear()
	return &cancuoc.Citizen{
		PIN:        pin,
		Version:    1,
		FullName:   "Nguyễn Văn Đức",
		OtherNames: []string{"Đức Bé", "Tèo"},
		BirthDate:  cancuoc.Date{Year: year, Month: 5, Day: 17},
		Sex:        pin.Sex(),
		BirthPlace: &cancuoc.Place{Era: cancuoc.Era63, Province: "01", District: "001", Commune: "00004",
			Detail: "Bệnh viện Phụ sản Hà Nội"},
		BirthRegistration: &cancuoc.Place{Era: cancuoc.Era63, Province: "01", District: "001", Commune: "00004"},
		Origin:            &cancuoc.Place{Era: cancuoc.Era63, Province: "40", District: "412", Commune: "17005", Detail: "xóm Đông"},
		Ethnicity:         "01",
		Religion:          "00",
		Nationality:       "VNM",
		BloodType:         "O+",
		OldIDNumber:       "012345678",
		Cards: []cancuoc.Card{
			{Number: "001090000001", Kind: "cccd", IssuedOn: cancuoc.Date{Year: 2016, Month: 4, Day: 1},
				IssuedBy: "Cục Cảnh sát QLHC về TTXH", ExpiresOn: cancuoc.Date{Year: year + 40, Month: 5, Day: 17},
				Status: cancuoc.CardReplaced},
			{Number: string(pin), Kind: "can_cuoc", IssuedOn: cancuoc.Date{Year: 2025, Month: 7, Day: 15},
				IssuedBy: "Bộ Công an", ExpiresOn: cancuoc.Date{Year: year + 40, Month: 5, Day: 17},
				Status: cancuoc.CardValid},
		},
		Father:   &cancuoc.Relative{PIN: PINFor("040", cancuoc.Male, 1960, 1), Name: "Nguyễn Văn Hùng", Nationality: "VNM"},
		Mother:   &cancuoc.Relative{OldID: "012000111", Name: "Trần Thị Hoa", Nationality: "VNM"},
		Spouse:   &cancuoc.Relative{PIN: PINFor("079", cancuoc.Female, 1992, 2), Name: "Lê Thị Ánh Tuyết", Nationality: "VNM"},
		Children: []cancuoc.Relative{{PIN: PINFor("001", cancuoc.Female, 2018, 3), Name: "Nguyễn Thị Mai"}, {Name: "Nguyễn Văn Bình"}},
		Guardian: &cancuoc.Relative{Name: "Phạm Minh Châu", Nationality: "VNM"},
		Represented: []cancuoc.Relative{
			{PIN: PINFor("001", cancuoc.Female, 2018, 3), Name: "Nguyễn Thị Mai", Nationality: "VNM"},
		},
		PermanentResidence: &cancuoc.Place{Era: cancuoc.Era34, Province: "01", Commune: "00004", Detail: "số 12 phố Quán Thánh"},
		TemporaryResidence: &cancuoc.TemporaryResidence{
			Place: cancuoc.Place{Era: cancuoc.Era34, Province: "79", Commune: "26734", Detail: "chung cư H'Mông, phòng 1204"},
			From:  cancuoc.Date{Year: 2025, Month: 7}, Until: cancuoc.Date{Year: 2027, Month: 6, Day: 30},
		},
		CurrentResidence: &cancuoc.Place{Era: cancuoc.Era34, Province: "79", Commune: "26734", Detail: "chung cư H'Mông, phòng 1204"},
		TemporaryAbsence: &cancuoc.TemporaryAbsence{
			From: cancuoc.Date{Year: 2026}, Until: cancuoc.Date{Year: 2026, Month: 12},
			Destination: &cancuoc.Place{Country: "JPN", Detail: "東京都"}, Reason: "du học",
		},
		ResidenceFileNumber: "HN-2016-000123",
		MaritalStatus:       cancuoc.Married,
		Household:           &cancuoc.HouseholdLink{ID: "HH-01-0001", HeadPIN: pin, HeadName: "Nguyễn Văn Đức", Relation: cancuoc.RelationHead},
		LifeStatus:          cancuoc.Alive,
		Phone:               "+84912345678",
		Email:               "duc@example.vn",
		Other:               map[string]string{"ghi_chú": "đã đối chiếu", "nguồn": "CSDL cũ"},
		NameKey:             "nguyen van duc",
		Home:                cancuoc.UnitRef{Province: "01", Commune: "00004"},
		CreatedAt:           T0,
		UpdatedAt:           T0.Add(90 * time.Minute),
	}
}

// Minimal returns a record with only the fields every record has, so tests
// also see that absent optional parts stay absent (nil) after a round trip.
func Minimal(pin cancuoc.PIN, fullName, nameKey string) *cancuoc.Citizen {
	return &cancuoc.Citizen{
		PIN:        pin,
		Version:    1,
		FullName:   fullName,
		BirthDate:  cancuoc.Date{Year: pin.BirthYear()},
		Sex:        pin.Sex(),
		LifeStatus: cancuoc.Alive,
		NameKey:    nameKey,
		CreatedAt:  T0,
		UpdatedAt:  T0,
	}
}

// FirstVersion wraps c as its first history entry, as a birth registration
// or a bulk import would write it.
func FirstVersion(c *cancuoc.Citizen) *cancuoc.CitizenVersion {
	return &cancuoc.CitizenVersion{
		PIN:        c.PIN,
		Version:    c.Version,
		At:         c.UpdatedAt,
		Actor:      "officer-01",
		Agency:     "UBND phường Ba Đình",
		Reason:     "đăng ký khai sinh",
		LegalBasis: "Luật Căn cước 26/2023/QH15, điều 9",
		Changes: []cancuoc.FieldChange{
			{Field: "full_name", Old: json.RawMessage(`null`), New: json.RawMessage(`"` + c.FullName + `"`)},
			{Field: "birth_date", Old: nil, New: json.RawMessage(`{"nested":[1,2.5,"ba"],"ok":true}`)},
		},
		Citizen: c.Clone(),
	}
}

// sameCitizen reports differences between two records, comparing instants
// with Equal (a backend may return another zone) and the rest deeply.
func sameCitizen(t *testing.T, what string, got, want *cancuoc.Citizen) {
	t.Helper()
	if got == nil || want == nil {
		if got != want {
			t.Errorf("%s: got %v, want %v", what, got, want)
		}
		return
	}
	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("%s: CreatedAt = %v, want %v", what, got.CreatedAt, want.CreatedAt)
	}
	if !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("%s: UpdatedAt = %v, want %v", what, got.UpdatedAt, want.UpdatedAt)
	}
	g, w := got.Clone(), want.Clone()
	g.CreatedAt, g.UpdatedAt, w.CreatedAt, w.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	// Clone turns nil slices into empty ones only when the source is non-nil,
	// so normalise both sides the same way before the deep comparison.
	normNil(g)
	normNil(w)
	if !reflect.DeepEqual(g, w) {
		gj, _ := json.MarshalIndent(g, "", " ")
		wj, _ := json.MarshalIndent(w, "", " ")
		t.Errorf("%s: record differs\n got: %s\nwant: %s", what, gj, wj)
	}
}

// normNil maps empty slices and maps to nil: JSON with omitempty cannot
// tell them apart, and neither can a caller.
func normNil(c *cancuoc.Citizen) {
	if len(c.OtherNames) == 0 {
		c.OtherNames = nil
	}
	if len(c.Cards) == 0 {
		c.Cards = nil
	}
	if len(c.Children) == 0 {
		c.Children = nil
	}
	if len(c.Represented) == 0 {
		c.Represented = nil
	}
	if len(c.Other) == 0 {
		c.Other = nil
	}
}

// sameJSON compares JSON values by meaning, not bytes: PostgreSQL's jsonb
// re-spaces and reorders objects. A nil RawMessage counts as null.
func sameJSON(a, b json.RawMessage) bool {
	if len(a) == 0 {
		a = json.RawMessage("null")
	}
	if len(b) == 0 {
		b = json.RawMessage("null")
	}
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func sameVersion(t *testing.T, what string, got, want *cancuoc.CitizenVersion) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: got nil version", what)
		return
	}
	if got.PIN != want.PIN || got.Version != want.Version || got.Actor != want.Actor || got.Agency != want.Agency ||
		got.Reason != want.Reason || got.LegalBasis != want.LegalBasis {
		t.Errorf("%s: header = %+v, want %+v", what,
			[]any{got.PIN, got.Version, got.Actor, got.Agency, got.Reason, got.LegalBasis},
			[]any{want.PIN, want.Version, want.Actor, want.Agency, want.Reason, want.LegalBasis})
	}
	if !got.At.Equal(want.At) {
		t.Errorf("%s: At = %v, want %v", what, got.At, want.At)
	}
	if len(got.Changes) != len(want.Changes) {
		t.Errorf("%s: %d changes, want %d", what, len(got.Changes), len(want.Changes))
	} else {
		for i := range got.Changes {
			g, w := got.Changes[i], want.Changes[i]
			if g.Field != w.Field || !sameJSON(g.Old, w.Old) || !sameJSON(g.New, w.New) {
				t.Errorf("%s: change %d = %s %s→%s, want %s %s→%s", what, i, g.Field, g.Old, g.New, w.Field, w.Old, w.New)
			}
		}
	}
	sameCitizen(t, what+" record", got.Citizen, want.Citizen)
}

// wantErr checks that err is a *cancuoc.Error of kind and, when code is set,
// of that code.
func wantErr(t *testing.T, what string, err error, kind cancuoc.Kind, code string) {
	t.Helper()
	var e *cancuoc.Error
	switch {
	case err == nil:
		t.Errorf("%s: no error, want %v %q", what, kind, code)
	case !errors.As(err, &e):
		t.Errorf("%s: error %v (%T) is not a *cancuoc.Error", what, err, err)
	case e.Kind != kind:
		t.Errorf("%s: kind %v (%v), want %v", what, e.Kind, err, kind)
	case code != "" && e.Code != code:
		t.Errorf("%s: code %q (%v), want %q", what, e.Code, err, code)
	}
}
