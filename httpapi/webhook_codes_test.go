package httpapi

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestOpenAPIWebhookProblemCodes extends TestOpenAPIProblemCodes to the
// webhook package, whose errors the webhook routes answer with.
func TestOpenAPIWebhookProblemCodes(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	var problem struct {
		Description string `json:"description"`
	}
	if err := json.Unmarshal(doc.Components.Schemas["Problem"], &problem); err != nil {
		t.Fatal(err)
	}
	codes := problemCodesInSource(t, "..", "../webhook") // the root declares cancuoc.E
	if !slices.Contains(codes, "webhook_not_yours") {
		t.Fatalf("found only %v in ../webhook; the scan is broken", codes)
	}
	for _, c := range codes {
		if !strings.Contains(problem.Description, "`"+c+"`") {
			t.Errorf("problem code %q is used in webhook/ but not listed in the Problem schema of openapi.json", c)
		}
	}
}
