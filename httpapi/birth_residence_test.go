package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestBirthRefusesResidence: a direct birth registration does not link
// the child to a household or give it a permanent residence, which would
// put them in the record only, outside the residence register. Each field
// is refused, naming the procedure to use, and nothing is registered; a
// null is no value and passes.
func TestBirthRefusesResidence(t *testing.T) {
	e := newEnv(t)
	for f, v := range map[string]any{
		"household_id":        "hh-1",
		"relation":            "con",
		"permanent_residence": map[string]any{"era": "34", "province": hanoi, "commune": baDinh, "detail": "số 3"},
	} {
		b := birth("Nguyễn Văn Hộ", "2025-01-02", "male", baDinh)
		b[f] = v
		p := e.do("POST", "/v1/births", e.baDinhOfficer, b).problem(http.StatusBadRequest, "birth_residence_not_here")
		if p.Field != f || !strings.Contains(p.MessageVI, "POST /v1/procedures") || !strings.Contains(p.MessageEN, "POST /v1/households/{id}/members") {
			t.Errorf("%s: %+v", f, p)
		}
	}
	if got := e.searchAll(e.admin, "name=nguyen+van+ho"); len(got) != 0 {
		t.Fatalf("a refused birth was registered: %v", got)
	}
	b := birth("Nguyễn Văn Hộ", "2025-01-02", "male", baDinh)
	b["household_id"], b["permanent_residence"] = nil, nil
	e.do("POST", "/v1/births", e.baDinhOfficer, b).ok(http.StatusCreated, nil)
}
