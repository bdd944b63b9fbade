package httpapi

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cancuoc/cancuoc/card"
	"github.com/cancuoc/cancuoc/chipcheck"
	"github.com/cancuoc/cancuoc/mrtd"
)

// TestOpenAPIChipSchemas checks the chip schemas list exactly the JSON
// fields of the types the handlers decode and encode.
func TestOpenAPIChipSchemas(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	checkSchemaFields(t, doc, map[string]reflect.Type{
		"ChipChallenge":           reflect.TypeFor[chipcheck.Challenge](),
		"ChipData":                reflect.TypeFor[mrtd.ChipData](),
		"ChipVerificationRequest": reflect.TypeFor[chipcheck.Request](),
		"ChipVerdict":             reflect.TypeFor[chipcheck.Verdict](),
		"ChipReason":              reflect.TypeFor[chipcheck.Reason](),
		"ChipFieldResult":         reflect.TypeFor[chipcheck.FieldResult](),
		"ChipCardRecord":          reflect.TypeFor[chipcheck.CardRecord](),
		"ChipAuthInfo":            reflect.TypeFor[chipcheck.ChipAuthInfo](),
		"MRTDCheck":               reflect.TypeFor[mrtd.Check](),
		"CardIssueRequest":        reflect.TypeFor[card.Issue](),
		"CardLostRequest":         reflect.TypeFor[card.Lost](),
	})
}

// TestOpenAPIChipProblemCodes checks that the codes the chip packages can
// answer with are listed in the Problem schema.
func TestOpenAPIChipProblemCodes(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	var problem struct {
		Description string `json:"description"`
	}
	if err := json.Unmarshal(doc.Components.Schemas["Problem"], &problem); err != nil {
		t.Fatal(err)
	}
	codes := problemCodesInSource(t, "..", "../card", "../chipcheck") // the root declares E and InvalidField
	for _, must := range []string{"aa_incomplete", "no_valid_card"} {
		if !slices.Contains(codes, must) {
			t.Errorf("the source scan missed %q; the scan is broken", must)
		}
	}
	for _, c := range codes {
		if !strings.Contains(problem.Description, "`"+c+"`") {
			t.Errorf("problem code %q is used by the chip packages but not listed in the Problem schema of openapi.json", c)
		}
	}
}
