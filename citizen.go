package cancuoc

import (
	"encoding/json"
	"time"
)

// Sex as recorded in the registry. The PIN's fourth digit encodes it too.
type Sex string

// Sexes. SexUnknown appears only in incomplete old records.
const (
	SexUnknown Sex = ""
	Male       Sex = "male"
	Female     Sex = "female"
)

// LifeStatus is field 24 of the Law on Identity: alive, dead (with a date) or
// declared missing by a court.
type LifeStatus string

// Life statuses.
const (
	Alive   LifeStatus = "alive"
	Dead    LifeStatus = "dead"
	Missing LifeStatus = "missing"
)

// MaritalStatus is field 21.
type MaritalStatus string

// Marital statuses; "" is unknown.
const (
	Single   MaritalStatus = "single"
	Married  MaritalStatus = "married"
	Divorced MaritalStatus = "divorced"
	Widowed  MaritalStatus = "widowed"
)

// AdminEra names the set of administrative units a code belongs to. Codes
// were reused across the 2025 reorganisation (commune 00004 is Trúc Bạch in
// the old set and Ba Đình in the new one), so a code means nothing without it.
type AdminEra string

// The two unit sets.
const (
	Era63 AdminEra = "63" // 63 provinces, districts, communes: until 30 June 2025
	Era34 AdminEra = "34" // 34 provinces and communes, no districts: since 1 July 2025
)

// Place is a location by administrative unit, as valid when it was recorded,
// plus free-text detail (house number, street, hamlet). Old records may hold
// only Detail. Country is an ISO 3166 alpha-3 code for places abroad; empty
// means Vietnam.
type Place struct {
	Era      AdminEra `json:"era,omitempty"`
	Province string   `json:"province,omitempty"`
	District string   `json:"district,omitempty"` // Era63 only
	Commune  string   `json:"commune,omitempty"`
	Detail   string   `json:"detail,omitempty"`
	Country  string   `json:"country,omitempty"`
	// Today is the place in today's units when the codes are of an older
	// set, derived by the registry on every write so that an address can be
	// shown as recorded and as it is named now. Commune is empty when the
	// old commune split over several new ones.
	Today *UnitRef `json:"today,omitempty"`
}

// UnitRef is a province and commune in today's units (Era34). The registry
// derives a citizen's Home from their residence to decide jurisdiction and
// to count population.
type UnitRef struct {
	Province string `json:"province,omitempty"`
	Commune  string `json:"commune,omitempty"`
}

// Relative is field 15: a related person by PIN (or old ID number), with the
// name and nationality as the law lists them.
type Relative struct {
	PIN         PIN    `json:"pin,omitempty"`
	OldID       string `json:"old_id,omitempty"`
	Name        string `json:"name,omitempty"`
	Nationality string `json:"nationality,omitempty"`
}

// CardStatus of an identity card.
type CardStatus string

// Card statuses.
const (
	CardValid    CardStatus = "valid"
	CardReplaced CardStatus = "replaced"
	CardLost     CardStatus = "lost"
	CardExpired  CardStatus = "expired"
	CardRevoked  CardStatus = "revoked"
)

// Card is field 14: one identity card held (CMND, CCCD, Căn cước).
type Card struct {
	Number    string     `json:"number"`
	Kind      string     `json:"kind"` // "cmnd", "cccd", "can_cuoc"
	IssuedOn  Date       `json:"issued_on"`
	IssuedBy  string     `json:"issued_by,omitempty"`
	ExpiresOn Date       `json:"expires_on"`
	Status    CardStatus `json:"status"`
}

// TemporaryResidence is field 17; it expires (at most two years, renewable).
type TemporaryResidence struct {
	Place
	From  Date `json:"from"`
	Until Date `json:"until"`
}

// TemporaryAbsence is field 19.
type TemporaryAbsence struct {
	From        Date   `json:"from"`
	Until       Date   `json:"until"`
	Destination *Place `json:"destination,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// HouseholdLink is fields 22 and 23: the household, its head and the
// person's relationship to the head ("chủ hộ" for the head).
type HouseholdLink struct {
	ID       string `json:"id"`
	HeadPIN  PIN    `json:"head_pin,omitempty"`
	HeadName string `json:"head_name,omitempty"`
	Relation string `json:"relation"`
}

// RelationHead is the relationship of the head to itself.
const RelationHead = "chủ hộ"

// Citizen is one person's live record: the 26 fields of the Law on Identity
// (26/2023/QH15, art. 9), numbered in the comments. JSON names are the field
// names used in the API, in history diffs and in role field filters.
type Citizen struct {
	PIN                 PIN                 `json:"pin"`                             // 3
	Version             int64               `json:"version"`                         // optimistic version, 1 at creation
	FullName            string              `json:"full_name"`                       // 1, NFC
	OtherNames          []string            `json:"other_names,omitempty"`           // 2
	BirthDate           Date                `json:"birth_date"`                      // 4, may be partial
	Sex                 Sex                 `json:"sex"`                             // 5
	BirthPlace          *Place              `json:"birth_place,omitempty"`           // 6
	BirthRegistration   *Place              `json:"birth_registration,omitempty"`    // 7
	Origin              *Place              `json:"origin,omitempty"`                // 8 quê quán
	Ethnicity           string              `json:"ethnicity,omitempty"`             // 9, code "01".."54"
	Religion            string              `json:"religion,omitempty"`              // 10, code, "00" none
	Nationality         string              `json:"nationality,omitempty"`           // 11, ISO alpha-3
	BloodType           string              `json:"blood_type,omitempty"`            // 12, "A+"…
	OldIDNumber         string              `json:"old_id_number,omitempty"`         // 13, 9-digit CMND
	Cards               []Card              `json:"cards,omitempty"`                 // 14
	Father              *Relative           `json:"father,omitempty"`                // 15
	Mother              *Relative           `json:"mother,omitempty"`                // 15
	Spouse              *Relative           `json:"spouse,omitempty"`                // 15
	Children            []Relative          `json:"children,omitempty"`              // 15
	Guardian            *Relative           `json:"guardian,omitempty"`              // 15 legal representative
	Represented         []Relative          `json:"represented,omitempty"`           // 15 persons represented
	PermanentResidence  *Place              `json:"permanent_residence,omitempty"`   // 16
	TemporaryResidence  *TemporaryResidence `json:"temporary_residence,omitempty"`   // 17
	CurrentResidence    *Place              `json:"current_residence,omitempty"`     // 18
	TemporaryAbsence    *TemporaryAbsence   `json:"temporary_absence,omitempty"`     // 19
	ResidenceFileNumber string              `json:"residence_file_number,omitempty"` // 20
	MaritalStatus       MaritalStatus       `json:"marital_status,omitempty"`        // 21
	Household           *HouseholdLink      `json:"household,omitempty"`             // 22, 23
	LifeStatus          LifeStatus          `json:"life_status"`                     // 24
	DeathDate           Date                `json:"death_date"`                      // 24
	MissingSince        Date                `json:"missing_since"`                   // 24
	Phone               string              `json:"phone,omitempty"`                 // 25
	Email               string              `json:"email,omitempty"`                 // 25
	Other               map[string]string   `json:"other,omitempty"`                 // 26

	// Derived by the registry on every write; stored for indexes.
	NameKey   string    `json:"name_key"` // diacritic-free, lower-case full name
	Home      UnitRef   `json:"home"`     // today's units of the residence
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Clone returns a deep copy, so a closure can change a record without
// touching the caller's value until the transaction commits.
func (c *Citizen) Clone() *Citizen {
	if c == nil {
		return nil
	}
	n := *c
	n.OtherNames = append([]string(nil), c.OtherNames...)
	n.BirthPlace = clonePlace(c.BirthPlace)
	n.BirthRegistration = clonePlace(c.BirthRegistration)
	n.Origin = clonePlace(c.Origin)
	n.Cards = append([]Card(nil), c.Cards...)
	n.Father, n.Mother, n.Spouse, n.Guardian = cloneRel(c.Father), cloneRel(c.Mother), cloneRel(c.Spouse), cloneRel(c.Guardian)
	n.Children = append([]Relative(nil), c.Children...)
	n.Represented = append([]Relative(nil), c.Represented...)
	n.PermanentResidence = clonePlace(c.PermanentResidence)
	n.CurrentResidence = clonePlace(c.CurrentResidence)
	if c.TemporaryResidence != nil {
		t := *c.TemporaryResidence
		t.Place = *clonePlace(&c.TemporaryResidence.Place)
		n.TemporaryResidence = &t
	}
	if c.TemporaryAbsence != nil {
		t := *c.TemporaryAbsence
		t.Destination = clonePlace(t.Destination)
		n.TemporaryAbsence = &t
	}
	if c.Household != nil {
		h := *c.Household
		n.Household = &h
	}
	if c.Other != nil {
		n.Other = make(map[string]string, len(c.Other))
		for k, v := range c.Other {
			n.Other[k] = v
		}
	}
	return &n
}

func clonePlace(p *Place) *Place {
	if p == nil {
		return nil
	}
	c := *p
	if p.Today != nil {
		t := *p.Today
		c.Today = &t
	}
	return &c
}

func cloneRel(r *Relative) *Relative {
	if r == nil {
		return nil
	}
	c := *r
	return &c
}

// FieldChange is one field of a version that differs from the previous one.
// Old and New are the JSON values (null when absent).
type FieldChange struct {
	Field string          `json:"field"`
	Old   json.RawMessage `json:"old"`
	New   json.RawMessage `json:"new"`
}

// CitizenVersion is one entry of a citizen's history: the whole record as it
// stood after the change, what changed, who changed it, from which agency or
// source, why and on what legal basis.
type CitizenVersion struct {
	PIN        PIN           `json:"pin"`
	Version    int64         `json:"version"`
	At         time.Time     `json:"at"`
	Actor      string        `json:"actor"`  // principal ID
	Agency     string        `json:"agency"` // agency or source system
	Reason     string        `json:"reason"`
	LegalBasis string        `json:"legal_basis"`
	Changes    []FieldChange `json:"changes"`
	Citizen    *Citizen      `json:"record"`
}
