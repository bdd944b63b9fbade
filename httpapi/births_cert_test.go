package httpapi_test

import (
	"testing"

	"github.com/cancuoc/cancuoc/registry"
)

// TestBirthIssuesCertificate: POST /v1/births issues the PIN and the
// electronic birth certificate record, as the birth procedure's first step
// does.
func TestBirthIssuesCertificate(t *testing.T) {
	e := newEnv(t)
	c := e.register("Nguyễn Văn An", "2024-03-15", "male")
	docs, err := e.store.IssuedDocuments(t.Context(), c.PIN)
	if err != nil || len(docs) != 1 || docs[0].Kind != registry.DocBirthCertificate || docs[0].Number != "KS.2024."+string(c.PIN) {
		t.Fatalf("documents after POST /v1/births = %+v, %v; want the birth certificate", docs, err)
	}
}
