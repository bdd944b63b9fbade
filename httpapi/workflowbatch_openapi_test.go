package httpapi

import (
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/cancuoc/cancuoc/workflow"
)

// TestBatchSchemasMatchTypes keeps the batch routes' schemas of
// openapi.json in step with the types they decode and encode.
func TestBatchSchemasMatchTypes(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	for name, typ := range map[string]reflect.Type{
		"ProcedureClaimRequest":  reflect.TypeFor[claimRequest](),
		"ProcedureClaimResult":   reflect.TypeFor[claimAnswer](),
		"ProcedureBatchItem":     reflect.TypeFor[workflow.BatchItem](),
		"ProcedureSettleRequest": reflect.TypeFor[settleRequest](),
		"ProcedureSettleItem":    reflect.TypeFor[settleItem](),
		"ProcedureSettleResult":  reflect.TypeFor[settleAnswer](),
	} {
		var schema struct {
			Properties map[string]json.RawMessage `json:"properties"`
		}
		if err := json.Unmarshal(doc.Components.Schemas[name], &schema); err != nil || schema.Properties == nil {
			t.Errorf("schema %s missing or without properties: %v", name, err)
			continue
		}
		var documented []string
		for p := range schema.Properties {
			documented = append(documented, p)
		}
		fields := jsonFields(typ)
		sort.Strings(documented)
		sort.Strings(fields)
		if !slices.Equal(documented, fields) {
			t.Errorf("schema %s has properties %v; type %v has JSON fields %v", name, documented, typ, fields)
		}
	}
}
