package httpapi

import (
	"encoding/json"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// TestOpenAPIReconciliationSchema checks that the Reconciliation schema
// documents exactly the fields the API writes for a job.
func TestOpenAPIReconciliationSchema(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	job := &cancuoc.Reconciliation{ID: "rc_x", Owner: "o", Input: "/secret/in", Report: "/secret/out", InputHash: "h",
		InputSize: 1, Format: "csv", ReportFmt: "csv", Reveal: []string{"sex"}, Status: "failed", Offset: 1, Line: 1,
		ReportSize: 1, Counts: map[string]int64{"matched": 1}, Error: "e", CreatedAt: time.Now(), UpdatedAt: time.Now()}
	raw, _ := json.Marshal(viewOf(job))
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for k := range m {
		got = append(got, k)
	}
	for k := range doc.Components.Schemas["Reconciliation"].Properties {
		want = append(want, k)
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("the API writes %v, the schema documents %v", got, want)
	}
	if _, ok := m["input"]; ok {
		t.Error("server paths must not be shown")
	}
}
