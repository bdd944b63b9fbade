// Package quality holds the officers' data-quality work lists ("đúng, đủ,
// sạch, sống"): for the officer's jurisdiction, the living records that
// lack a field, the suspected duplicates, the addresses still in units
// abolished by the 2025 reorganisation.
//
// The field lists are partial indexes kept by the database on every write
// (migration 00014), so a page is one index range at any registry size and
// a fixed record leaves its list at once. Duplicates need two records
// compared, which no index keeps: a background recount (Recount) blocks on
// name key, full date of birth and sex, scores each pair and replaces the
// stored pairs in one transaction.
//
// Listing is reading: every record a page shows gets its own access-log
// entry, all of a page's entries in one group commit (audit.Writer), so
// that a citizen's access log names each officer who saw them on a list.
package quality

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/admin"
)

// Store is what the work lists read.
type Store interface {
	cancuoc.QualityStore
	// MatchRecords reads the identity fields of many records in one
	// query (the reconciliation's lookup), for the duplicates' pages.
	MatchRecords(ctx context.Context, pins []cancuoc.PIN, cards bool) ([]cancuoc.MatchRecord, error)
}

// Recorder writes access-log entries (audit.Writer).
type Recorder interface {
	Record(ctx context.Context, entries ...*cancuoc.AuditEntry) error
}

// Service answers the work lists.
type Service struct {
	store Store
	audit Recorder
	clock func() time.Time
}

// New returns the service.
func New(st Store, audit Recorder) *Service {
	return &Service{store: st, audit: audit, clock: time.Now}
}

// WithClock sets the clock (tests).
func (s *Service) WithClock(now func() time.Time) *Service { s.clock = now; return s }

// PageSize is the number of rows of a page.
const PageSize = 50

// Action is the access log's name for a record shown on a work list.
const Action = "citizen.quality_list"

// Area is where a list looks: Province "" for the whole country.
type Area struct {
	Province string
	Commune  string
}

// ListFields are the fields a work list shows of each record (the access
// log names them).
var ListFields = []string{"pin", "full_name", "birth_date", "sex", "home"}

// Page is one page of a field's work list.
type Page struct {
	Kind    cancuoc.QualityKind
	Area    Area
	Records []*cancuoc.Citizen
	// Next is the cursor of the following page, "" on the last.
	Next string
}

// List answers one page of a work list in area (the principal's whole
// jurisdiction when area is zero) after the cursor ("" for the first page).
func (s *Service) List(ctx context.Context, p *cancuoc.Principal, kind cancuoc.QualityKind, area Area, cursor string) (*Page, error) {
	const op = "quality.List"
	area, err := scope(op, p, area)
	if err != nil {
		return nil, err
	}
	if !kind.Valid() {
		return nil, cancuoc.InvalidField(op, "kind", "quality_kind_unknown",
			"Không có danh sách này; các danh sách: partial_birth, no_ethnicity, no_permanent_residence, old_unit_address, duplicates.",
			"No such list; the lists are partial_birth, no_ethnicity, no_permanent_residence, old_unit_address, duplicates.")
	}
	after, err := ParseListCursor(cursor)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	recs, err := s.store.QualityList(ctx, cancuoc.QualityQuery{Kind: kind, Province: area.Province, Commune: area.Commune,
		After: after, Limit: PageSize + 1})
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	pg := &Page{Kind: kind, Area: area, Records: recs}
	if len(recs) > PageSize {
		pg.Records = recs[:PageSize]
		last := pg.Records[PageSize-1]
		pg.Next = FormatListCursor(cancuoc.QualityCursor{Province: last.Home.Province, Commune: last.Home.Commune, PIN: last.PIN})
	}
	now := s.clock()
	purpose := "Danh sách chất lượng dữ liệu: " + string(kind)
	entries := make([]*cancuoc.AuditEntry, 0, len(pg.Records))
	for _, c := range pg.Records {
		entries = append(entries, &cancuoc.AuditEntry{At: now, Actor: p.ID, Action: Action, PIN: c.PIN,
			Fields: ListFields, Purpose: purpose, Outcome: "ok"})
	}
	if err := s.audit.Record(ctx, entries...); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return pg, nil
}

// scope checks that p may see work lists and that area lies inside its
// jurisdiction, and answers the area to list (the jurisdiction if zero).
func scope(op string, p *cancuoc.Principal, area Area) (Area, error) {
	if p == nil || p.Disabled {
		return Area{}, cancuoc.E(cancuoc.Unauthenticated, op, "unauthenticated", "Cần đăng nhập.", "Authentication required.")
	}
	switch p.Role {
	case cancuoc.RoleNationalAdmin, cancuoc.RoleProvinceOfficer, cancuoc.RoleCommuneOfficer:
	default:
		return Area{}, cancuoc.E(cancuoc.Forbidden, op, "role_forbidden",
			"Chỉ cán bộ quản lý dân cư xem được danh sách chất lượng dữ liệu.",
			"Only registry officers may see the data-quality lists.")
	}
	if area.Commune != "" && area.Province == "" {
		return Area{}, cancuoc.InvalidField(op, "commune", "commune_without_province",
			"Chọn xã, phường phải kèm tỉnh, thành phố.", "A commune needs its province.")
	}
	if area.Province != "" {
		if _, ok := admin.Current().Province(area.Province); !ok {
			return Area{}, cancuoc.InvalidField(op, "province", "province_unknown",
				"Không có tỉnh, thành phố với mã này (mã 2 chữ số của 34 tỉnh, thành phố hiện hành).",
				"No province has this code (the 2-digit code of one of today's 34 provinces).")
		}
	}
	if area.Commune != "" {
		if u, ok := admin.Current().Commune(area.Commune); !ok || u.ProvinceCode != area.Province {
			return Area{}, cancuoc.InvalidField(op, "commune", "commune_unknown",
				"Không có xã, phường với mã này trong tỉnh, thành phố đã chọn.", "No commune has this code in the chosen province.")
		}
	}
	j := p.Jurisdiction
	if area == (Area{}) {
		return Area{Province: j.Province, Commune: j.Commune}, nil
	}
	if !j.Covers(cancuoc.UnitRef{Province: area.Province, Commune: area.Commune}) ||
		(j.Commune != "" && area.Commune == "") {
		return Area{}, cancuoc.E(cancuoc.Forbidden, op, "outside_jurisdiction",
			"Địa bàn này nằm ngoài phạm vi quản lý của bạn.", "This area is outside your jurisdiction.")
	}
	return area, nil
}

// FormatListCursor writes a work list's position as "province.commune.PIN".
func FormatListCursor(c cancuoc.QualityCursor) string {
	return c.Province + "." + c.Commune + "." + string(c.PIN)
}

var errCursor = cancuoc.InvalidField("quality.cursor", "after", "cursor_invalid",
	"Vị trí trang không hợp lệ; hãy mở lại danh sách từ trang đầu.",
	"The page position is not valid; open the list again from its first page.")

// ParseListCursor reads a cursor of FormatListCursor ("" is the start).
func ParseListCursor(s string) (cancuoc.QualityCursor, error) {
	if s == "" {
		return cancuoc.QualityCursor{}, nil
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 || !digits(parts[0], 0, 2) || !digits(parts[1], 0, 5) || !digits(parts[2], 12, 12) {
		return cancuoc.QualityCursor{}, errCursor
	}
	return cancuoc.QualityCursor{Province: parts[0], Commune: parts[1], PIN: cancuoc.PIN(parts[2])}, nil
}

// FormatPairCursor writes a duplicate pair's position as "score.PIN.other".
func FormatPairCursor(p cancuoc.DuplicatePair) string {
	return strconv.Itoa(p.Score) + "." + string(p.PIN) + "." + string(p.Other)
}

// ParsePairCursor reads a cursor of FormatPairCursor ("" is the start).
func ParsePairCursor(s string) (*cancuoc.DuplicatePair, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 || !digits(parts[0], 1, 3) || !digits(parts[1], 12, 12) || !digits(parts[2], 12, 12) {
		return nil, errCursor
	}
	score, _ := strconv.Atoi(parts[0])
	if score > 100 {
		return nil, errCursor
	}
	return &cancuoc.DuplicatePair{Score: score, PIN: cancuoc.PIN(parts[1]), Other: cancuoc.PIN(parts[2])}, nil
}

// digits reports whether s is between lo and hi ASCII digits long.
func digits(s string, lo, hi int) bool {
	if len(s) < lo || len(s) > hi {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
