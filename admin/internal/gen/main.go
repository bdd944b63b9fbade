// Command gen converts the shared reference data on administrative units into
// the compact CSV files that package admin embeds, and writes the curated code
// lists and a SOURCES.md recording where every file came from.
//
// Run from the repository root:
//
//	go run ./admin/internal/gen -src ../shared/data -out admin/data
package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"github.com/cancuoc/cancuoc/internal/json"
	"log"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/cancuoc/cancuoc/vntext"
)

func main() {
	src := flag.String("src", "../shared/data", "directory holding the shared reference data (with an admin/ subdirectory)")
	out := flag.String("out", "admin/data", "directory to write the embedded files to")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("gen: ")
	if err := run(*src, *out); err != nil {
		log.Fatal(err)
	}
}

// Source file names inside <src>/admin.
const (
	oldFile     = "units-2025-03-gso.json"
	currentFile = "units-2026-07.json"
	mappingFile = "mapping-2025-07-old-to-new.json"
)

// unitHeader is the column list of units-*.csv; package admin reads by
// position, so it must change together with admin's parser.
var unitHeader = []string{"level", "code", "province", "district", "type", "name", "full_name", "name_en", "full_name_en"}

func run(src, out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	dir := filepath.Join(src, "admin")

	var old gsoFile
	if err := readJSON(filepath.Join(dir, oldFile), &old); err != nil {
		return err
	}
	oldRows, oldFixes, err := convertOld(old)
	if err != nil {
		return err
	}
	if err := writeCSV(filepath.Join(out, "units-63.csv"), unitHeader, oldRows); err != nil {
		return err
	}

	var cur []newProvince
	if err := readJSON(filepath.Join(dir, currentFile), &cur); err != nil {
		return err
	}
	curRows, curCommunes, err := convertCurrent(cur)
	if err != nil {
		return err
	}
	if err := writeCSV(filepath.Join(out, "units-34.csv"), unitHeader, curRows); err != nil {
		return err
	}

	var mp mappingFileJSON
	if err := readJSON(filepath.Join(dir, mappingFile), &mp); err != nil {
		return err
	}
	mapRows, fixes, err := convertMapping(mp, curCommunes)
	if err != nil {
		return err
	}
	if err := writeCSV(filepath.Join(out, "mapping-63-34.csv"), []string{"level", "old_code", "new_codes"}, mapRows); err != nil {
		return err
	}

	lists := []struct {
		file string
		rows []codeRow
	}{
		{"ethnicities.csv", ethnicities},
		{"religions.csv", religions},
		{"blood-types.csv", bloodTypes},
		{"nationalities.csv", nationalities()},
	}
	for _, l := range lists {
		rows := make([][]string, len(l.rows))
		for i, r := range l.rows {
			rows[i] = []string{r.code, r.name, r.nameEn}
		}
		if err := writeCSV(filepath.Join(out, l.file), []string{"code", "name", "name_en"}, rows); err != nil {
			return err
		}
	}

	var popRows [][]string
	for code, n := range population2019 {
		popRows = append(popRows, []string{code, fmt.Sprint(n)})
	}
	sort.Slice(popRows, func(i, j int) bool { return popRows[i][0] < popRows[j][0] })
	if err := writeCSV(filepath.Join(out, "population-2019.csv"), []string{"province", "population"}, popRows); err != nil {
		return err
	}

	return writeSources(filepath.Join(out, "SOURCES.md"), old.DataDate, oldFixes, fixes)
}

// gsoFile is the shape of units-2025-03-gso.json.
type gsoFile struct {
	DataDate string `json:"data_date"`
	Data     []struct {
		ID     string `json:"level1_id"`
		Name   string `json:"name"`
		Type   string `json:"type"`
		Level2 []struct {
			ID     string `json:"level2_id"`
			Name   string `json:"name"`
			Type   string `json:"type"`
			Level3 []struct {
				ID   string `json:"level3_id"`
				Name string `json:"name"`
				Type string `json:"type"`
			} `json:"level3s"`
		} `json:"level2s"`
	} `json:"data"`
}

// englishType gives the customary English word for each Vietnamese unit type
// of the old set, used to build FullNameEn the way the current set's source
// does ("Ba Dinh Ward").
var englishType = map[string]string{
	"Thành phố Trung ương": "City",
	"Tỉnh":                 "Province",
	"Quận":                 "Urban District",
	"Huyện":                "District",
	"Thị xã":               "Town",
	"Thành phố":            "City",
	"Phường":               "Ward",
	"Xã":                   "Commune",
	"Thị trấn":             "Township",
}

// splitName separates the type prefix from a full name ("Phường Phúc Xá" →
// "Phúc Xá") and returns the full name with the prefix spelt as the type
// (the source has a few "Thành Phố"). Numbered units keep their full name as
// the short name ("Phường 12"), since "12" alone names nothing.
func splitName(full, typ string) (name, fixedFull string, err error) {
	prefix := typ
	if typ == "Thành phố Trung ương" {
		prefix = "Thành phố"
	}
	head := full[:min(len(prefix)+1, len(full))]
	rest := full[len(head):]
	if !strings.EqualFold(head, prefix+" ") || rest == "" {
		return "", "", fmt.Errorf("name %q does not start with its type %q", full, typ)
	}
	fixedFull = prefix + " " + rest
	if strings.Trim(rest, "0123456789") == "" {
		return fixedFull, fixedFull, nil
	}
	return rest, fixedFull, nil
}

// englishNames derives NameEn and FullNameEn for an old-set unit, which the
// source lacks, from the diacritic-free spelling.
func englishNames(name, full, typ string) (string, string) {
	en := vntext.StripDiacritics(name)
	word := englishType[typ]
	if name == full { // numbered unit: "Ward 12" is both the short and the full English name
		n := word + " " + full[strings.LastIndexByte(full, ' ')+1:]
		return n, n
	}
	return en, en + " " + word
}

// communeTypes are the old set's commune-level types. The source types a
// couple of wards as "Xã" although their names (and their urban district)
// say "Phường"; the name wins and the correction is reported.
var communeTypes = []string{"Phường", "Xã", "Thị trấn"}

func convertOld(f gsoFile) (rows [][]string, fixes []string, err error) {
	add := func(level, code, prov, dist, typ, full string) error {
		if _, ok := englishType[typ]; !ok {
			return fmt.Errorf("%s %s: unknown unit type %q", level, code, typ)
		}
		full = vntext.CleanName(full)
		name, fixed, err := splitName(full, typ)
		if err != nil && level == "commune" {
			for _, t := range communeTypes {
				if n, f, err2 := splitName(full, t); err2 == nil {
					fixes = append(fixes, fmt.Sprintf("commune %s %q: type %q → %q", code, f, typ, t))
					name, fixed, typ, err = n, f, t, nil
					break
				}
			}
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", level, code, err)
		}
		full = fixed
		en, fullEn := englishNames(name, full, typ)
		rows = append(rows, []string{level, code, prov, dist, typ, name, full, en, fullEn})
		return nil
	}
	for _, p := range f.Data {
		if err := add("province", p.ID, "", "", p.Type, p.Name); err != nil {
			return nil, nil, err
		}
		for _, d := range p.Level2 {
			if err := add("district", d.ID, p.ID, "", d.Type, d.Name); err != nil {
				return nil, nil, err
			}
			for _, c := range d.Level3 {
				if err := add("commune", c.ID, p.ID, d.ID, c.Type, c.Name); err != nil {
					return nil, nil, err
				}
			}
		}
	}
	sortRows(rows)
	return rows, fixes, nil
}

// newUnit is one unit of units-2026-07.json.
type newUnit struct {
	Code, Name, NameEn, FullName, FullNameEn, ProvinceCode  string
	AdministrativeUnitShortName, AdministrativeUnitFullName string
}

type newProvince struct {
	newUnit
	Wards []newUnit
}

func convertCurrent(ps []newProvince) (rows [][]string, communes map[string]newUnit, err error) {
	communes = map[string]newUnit{}
	for _, p := range ps {
		typ := "Tỉnh"
		// The old set calls centrally governed cities "Thành phố Trung ương";
		// using the same type string keeps the two sets comparable.
		if p.AdministrativeUnitFullName == "Thành phố trực thuộc trung ương" {
			typ = "Thành phố Trung ương"
		} else if p.AdministrativeUnitShortName != "Tỉnh" {
			return nil, nil, fmt.Errorf("province %s: unknown unit type %q", p.Code, p.AdministrativeUnitFullName)
		}
		rows = append(rows, []string{"province", p.Code, "", "", typ,
			vntext.CleanName(p.Name), vntext.CleanName(p.FullName), p.NameEn, p.FullNameEn})
		for _, w := range p.Wards {
			if w.ProvinceCode != p.Code {
				return nil, nil, fmt.Errorf("commune %s lists province %s inside province %s", w.Code, w.ProvinceCode, p.Code)
			}
			if _, dup := communes[w.Code]; dup {
				return nil, nil, fmt.Errorf("commune %s listed twice", w.Code)
			}
			communes[w.Code] = w
			rows = append(rows, []string{"commune", w.Code, p.Code, "", w.AdministrativeUnitShortName,
				vntext.CleanName(w.Name), vntext.CleanName(w.FullName), w.NameEn, w.FullNameEn})
		}
	}
	sortRows(rows)
	return rows, communes, nil
}

// mappingFileJSON is the shape of mapping-2025-07-old-to-new.json.
type mappingFileJSON struct {
	Data []struct {
		ID     string  `json:"level1_id"`
		Splits []split `json:"splits"`
		Level2 []struct {
			ID     string  `json:"level2_id"`
			Splits []split `json:"splits"`
		} `json:"level2s"`
		Level3 []struct {
			ID     string  `json:"level3_id"`
			Name   string  `json:"name"`
			Splits []split `json:"splits"`
		} `json:"level3s"`
	} `json:"data"`
}

type split struct {
	NewID string `json:"new_id"`
	Name  string `json:"name"`
}

// convertMapping flattens the mapping. A few target codes in the mapping do
// not exist in the current set (the two sources assigned different codes to
// the same new commune); those are resolved by the unique commune of the same
// full name in the same new province and reported, so SOURCES.md can list
// every correction.
func convertMapping(m mappingFileJSON, communes map[string]newUnit) (rows [][]string, fixes []string, err error) {
	byName := map[string][]string{} // province + full name → codes
	for code, w := range communes {
		k := w.ProvinceCode + "|" + vntext.CleanName(w.FullName)
		byName[k] = append(byName[k], code)
	}
	resolve := func(oldCode, newProv string, s split) (string, error) {
		if _, ok := communes[s.NewID]; ok {
			return s.NewID, nil
		}
		cands := byName[newProv+"|"+vntext.CleanName(s.Name)]
		if len(cands) != 1 {
			return "", fmt.Errorf("old unit %s maps to unknown commune %s %q (%d candidates by name)", oldCode, s.NewID, s.Name, len(cands))
		}
		fix := fmt.Sprintf("%s → %s (%s)", s.NewID, cands[0], s.Name)
		if !slices.Contains(fixes, fix) {
			fixes = append(fixes, fix)
		}
		return cands[0], nil
	}
	for _, p := range m.Data {
		if len(p.Splits) == 0 {
			return nil, nil, fmt.Errorf("old province %s maps to nothing", p.ID)
		}
		var provs []string
		for _, s := range p.Splits {
			provs = append(provs, s.NewID)
		}
		rows = append(rows, []string{"province", p.ID, strings.Join(provs, " ")})
		emit := func(level, code string, splits []split) error {
			if len(splits) == 0 {
				return fmt.Errorf("old %s %s maps to nothing", level, code)
			}
			var codes []string
			for _, s := range splits {
				c, err := resolve(code, provs[0], s)
				if err != nil {
					return err
				}
				if !slices.Contains(codes, c) {
					codes = append(codes, c)
				}
				if level == "commune" && communes[c].ProvinceCode != provs[0] {
					// Kept as the source says, but flagged: every other
					// commune stays within its province's successor.
					fixes = append(fixes, fmt.Sprintf("unverified: old commune %s of province %s maps to %s %q in province %s, outside the province's successor %s",
						code, p.ID, c, communes[c].FullName, communes[c].ProvinceCode, provs[0]))
				}
			}
			rows = append(rows, []string{level, code, strings.Join(codes, " ")})
			return nil
		}
		for _, d := range p.Level2 {
			if err := emit("district", d.ID, d.Splits); err != nil {
				return nil, nil, err
			}
		}
		for _, c := range p.Level3 {
			if err := emit("commune", c.ID, c.Splits); err != nil {
				return nil, nil, err
			}
		}
	}
	sortRows(rows)
	return rows, fixes, nil
}

// nationalities lists the ISO 3166-1 countries known to golang.org/x/text
// with their alpha-3 codes and CLDR names in Vietnamese and English, so the
// list follows a maintained library rather than a hand-typed table.
func nationalities() []codeRow {
	vi := display.Regions(language.Vietnamese)
	en := display.Regions(language.English)
	var rows []codeRow
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			s := string([]rune{a, b})
			r, err := language.ParseRegion(s)
			if err != nil || !r.IsCountry() || r.IsPrivateUse() || r.Canonicalize() != r || notISO31661[s] {
				continue
			}
			iso3 := r.ISO3()
			if len(iso3) != 3 || iso3 == "ZZZ" {
				continue
			}
			rows = append(rows, codeRow{iso3, vi.Name(r), en.Name(r)})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].code < rows[j].code })
	return rows
}

func sortRows(rows [][]string) {
	rank := map[string]int{"province": 0, "district": 1, "commune": 2}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i][0] != rows[j][0] {
			return rank[rows[i][0]] < rank[rows[j][0]]
		}
		return rows[i][1] < rows[j][1]
	})
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func writeCSV(path string, header []string, rows [][]string) error {
	var sb strings.Builder
	w := csv.NewWriter(&sb)
	if err := w.Write(header); err != nil {
		return err
	}
	if err := w.WriteAll(rows); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(sb.String()), 0o644)
}

func writeSources(path, oldDate string, oldFixes, fixes []string) error {
	var b strings.Builder
	fmt.Fprintf(&b, `# Sources of the embedded data

Generated by admin/internal/gen on %s from /work/shared/data (see its README.md).
Do not edit the CSV files by hand: change the generator or its inputs and run
`+"`go generate ./admin`"+`.

| file | source file | upstream (licence) | data date |
|---|---|---|---|
| units-63.csv | admin/%s | daohoangson/dvhcvn, from the General Statistics Office's web service (MIT) | %s |
| units-34.csv | admin/%s | thanglequoc/vietnamese-provinces-database (MIT) | 2026-07-25 |
| mapping-63-34.csv | admin/%s | dvhcvn/20250701 (MIT) | 2025-07 |
| ethnicities.csv | admin/internal/gen/lists.go | General Statistics Office, Decision 121-TCTK/PPCĐ of 2 March 1979, list of 54 ethnic groups and their codes (official document) | 1979-03-02 |
| religions.csv | admin/internal/gen/lists.go | Government Committee for Religious Affairs: 16 state-recognised religions (as reported 2022-2023); codes are this project's own | 2023 |
| nationalities.csv | golang.org/x/text/language and language/display (CLDR data, BSD-3-Clause) | ISO 3166-1 alpha-3 codes, CLDR names in Vietnamese and English | x/text version in go.mod |
| blood-types.csv | admin/internal/gen/lists.go | ABO and RhD groups (general knowledge) | — |
| population-2019.csv | admin/internal/gen/lists.go | General Statistics Office, 2019 Population and Housing Census, population by province (1 April 2019), as widely republished | 2019-04-01 |

Notes:

- units-63.csv: NameEn and FullNameEn are not in the source; the generator derives
  them by removing diacritics and adding the customary English unit word.
- units-34.csv: Type is the unit's short type (Phường, Xã, Đặc khu); centrally
  governed cities are typed "Thành phố Trung ương" as in the old set.
- mapping-63-34.csv: the five island districts that had no communes (Bạch Long Vĩ,
  Cồn Cỏ, Hoàng Sa, Lý Sơn, Côn Đảo) are mapped at district level to their
  special zones (Đặc khu).
- nationalities.csv: regions x/text reports as countries, less exceptional
  reservations (AC, CP, DG, EA, IC, TA), withdrawn codes (ISO 3166-3) and the
  user-assigned XK (Kosovo).
`, time.Now().UTC().Format("2006-01-02"), oldFile, oldDate, currentFile, mappingFile)
	if len(oldFixes) > 0 {
		b.WriteString("- Corrections to units-63.csv, where a unit's type contradicts its name:\n")
		for _, f := range oldFixes {
			fmt.Fprintf(&b, "  - %s\n", f)
		}
	}
	if len(fixes) > 0 {
		b.WriteString("- Mapping notes: target codes missing from the current set were resolved by the\n  unique current commune of the same name in the same province; cross-province\n  targets are kept but flagged:\n")
		for _, f := range fixes {
			fmt.Fprintf(&b, "  - %s\n", f)
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
