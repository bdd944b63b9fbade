package httpapi

import (
	"reflect"
	"testing"

	"github.com/cancuoc/cancuoc/workflow"
)

// TestBatchSchemasMatchTypes keeps the batch routes' schemas of
// openapi.json in step with the types they decode and encode.
func TestBatchSchemasMatchTypes(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	checkSchemaFields(t, doc, map[string]reflect.Type{
		"ProcedureClaimRequest":  reflect.TypeFor[claimRequest](),
		"ProcedureClaimResult":   reflect.TypeFor[claimAnswer](),
		"ProcedureBatchItem":     reflect.TypeFor[workflow.BatchItem](),
		"ProcedureSettleRequest": reflect.TypeFor[settleRequest](),
		"ProcedureSettleItem":    reflect.TypeFor[settleItem](),
		"ProcedureSettleResult":  reflect.TypeFor[settleAnswer](),
	})
}
