package httpapi_test

import (
	"encoding/json"
	"slices"
	"testing"
)

type batchStep struct {
	ProcedureID string `json:"procedure_id"`
	No          int    `json:"no"`
	Status      string `json:"status"`
	ClaimedBy   string `json:"claimed_by"`
}

// TestProcedureBatchAPI: an agency's system claims tasks in batches and
// settles many steps in one call; an item refused says why without undoing
// the others; a retried batch with its Idempotency-Key gets the first
// answer and does nothing again.
func TestProcedureBatchAPI(t *testing.T) {
	e := newWFEnv(t)
	var ids []string
	for i := range 3 {
		var f struct {
			ID string `json:"id"`
		}
		e.do("POST", "/v1/procedures", e.civil, e.submission(), "Idempotency-Key", "sub-"+string(rune('a'+i))).ok(201, &f)
		ids = append(ids, f.ID)
	}
	slices.Sort(ids) // the queue's order: IDs of one millisecond sort by their random part
	e.do("POST", "/v1/procedure-tasks/claim", e.civil, map[string]any{"max": 0}).problem(400, "max_invalid")
	e.do("POST", "/v1/procedure-tasks/claim", e.civil, map[string]any{"max": 101}).problem(400, "max_invalid")
	e.do("POST", "/v1/procedure-tasks/claim", e.civil, map[string]any{"max": 2, "extra": 1}).problem(400, "unknown_field")
	e.do("POST", "/v1/procedure-tasks/claim", e.admin, map[string]any{"max": 2}).problem(403, "no_agency")
	e.do("POST", "/v1/procedure-tasks/claim", "", map[string]any{"max": 2}).problem(401, "api_key_missing")

	var claimed struct {
		Items []batchStep `json:"items"`
	}
	first := e.do("POST", "/v1/procedure-tasks/claim", e.civil, map[string]any{"max": 2}, "Idempotency-Key", "cl-1").ok(200, &claimed)
	if len(claimed.Items) != 2 || claimed.Items[0].ProcedureID != ids[0] || claimed.Items[1].ProcedureID != ids[1] ||
		claimed.Items[0].Status != "claimed" {
		t.Fatalf("claimed %+v, want the first two files' steps", claimed.Items)
	}
	again := e.do("POST", "/v1/procedure-tasks/claim", e.civil, map[string]any{"max": 2}, "Idempotency-Key", "cl-1").ok(200, nil)
	if string(again.body) != string(first.body) || again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retried claim answered %s, first %s", again.body, first.body)
	}

	e.do("POST", "/v1/procedure-tasks/settle", e.civil, map[string]any{"items": []any{}}).problem(400, "batch_size")
	e.do("POST", "/v1/procedure-tasks/settle", e.civil, map[string]any{"items": []any{map[string]any{"procedure_id": ids[0], "no": 0}}}).
		problem(400, "step_number_invalid")
	e.do("POST", "/v1/procedure-tasks/settle", e.civil, map[string]any{"items": []any{map[string]any{"procedure_id": ids[0], "no": 1, "action": "approve"}}}).
		problem(400, "action_invalid")

	batch := map[string]any{"items": []any{
		map[string]any{"procedure_id": ids[0], "no": 1, "note": "đủ giấy tờ"},
		map[string]any{"procedure_id": ids[1], "no": 1, "action": "reject"}, // no reason
		map[string]any{"procedure_id": ids[2], "no": 1, "action": "complete"},
		map[string]any{"procedure_id": ids[1], "no": 2}, // not created: its first step is not done
	}}
	var ans struct {
		Items []struct {
			ProcedureID string     `json:"procedure_id"`
			No          int        `json:"no"`
			Action      string     `json:"action"`
			Status      int        `json:"status"`
			Step        *batchStep `json:"step"`
			Problem     *struct {
				Code   string `json:"code"`
				Status int    `json:"status"`
				Detail string `json:"detail"`
			} `json:"problem"`
		} `json:"items"`
		Succeeded int `json:"succeeded"`
		Failed    int `json:"failed"`
	}
	done := e.do("POST", "/v1/procedure-tasks/settle", e.civil, batch, "Idempotency-Key", "b-1").ok(200, &ans)
	if ans.Succeeded != 2 || ans.Failed != 2 || len(ans.Items) != 4 {
		t.Fatalf("batch answer %s", done.body)
	}
	for i, want := range []struct {
		status int
		code   string
	}{{200, ""}, {400, "reason_required"}, {200, ""}, {404, "not_found"}} {
		it := ans.Items[i]
		if it.Status != want.status || (want.code == "") != (it.Problem == nil) || (it.Problem != nil && it.Problem.Code != want.code) {
			t.Errorf("item %d = %+v, want %d %s", i, it, want.status, want.code)
		}
		if want.code == "" && (it.Step == nil || it.Step.Status != "completed") {
			t.Errorf("item %d step = %+v, want completed", i, it.Step)
		}
	}
	if ans.Items[0].Action != "complete" || ans.Items[1].Action != "reject" {
		t.Errorf("actions %q %q", ans.Items[0].Action, ans.Items[1].Action)
	}
	retry := e.do("POST", "/v1/procedure-tasks/settle", e.civil, batch, "Idempotency-Key", "b-1").ok(200, nil)
	if string(retry.body) != string(done.body) || retry.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retried batch answered %s, first %s", retry.body, done.body)
	}
	e.do("POST", "/v1/procedure-tasks/settle", e.civil, map[string]any{"items": []any{map[string]any{"procedure_id": ids[1], "no": 1}}},
		"Idempotency-Key", "b-1").problem(409, "idempotency_key_reused")

	// The completions created the police steps of the two completed files
	// (the handler, run after, changes nothing); Hồ Chí Minh City's police
	// may not settle them, Hà Nội's may.
	e.drain(t)
	police := map[string]any{"items": []any{map[string]any{"procedure_id": ids[0], "no": 2}, map[string]any{"procedure_id": ids[2], "no": 2}}}
	e.do("POST", "/v1/procedure-tasks/settle", e.hcmPolice, police).ok(200, &ans)
	if ans.Failed != 2 || ans.Items[0].Problem == nil || ans.Items[0].Problem.Code != "outside_jurisdiction" {
		t.Errorf("other province's police: %+v", ans)
	}
	e.do("POST", "/v1/procedure-tasks/claim", e.police, map[string]any{"max": 10}).ok(200, &claimed)
	if len(claimed.Items) != 2 {
		t.Fatalf("police claimed %+v, want 2", claimed.Items)
	}
	e.do("POST", "/v1/procedure-tasks/settle", e.police, police, "Accept-Language", "en").ok(200, &ans)
	if ans.Succeeded != 2 {
		t.Errorf("police batch: %+v", ans)
	}
	raw, _ := json.Marshal(ans)
	if len(raw) == 0 {
		t.Fatal("empty answer")
	}
}

// FuzzProcedureBatch: any batch body gives a JSON answer, never a 500.
func FuzzProcedureBatch(f *testing.F) {
	e := newWFEnv(f)
	for _, s := range []string{`{"items":[{"procedure_id":"x","no":1}]}`, `{"items":[]}`, `{"items":null}`, `{}`,
		`{"items":[{"procedure_id":"x","no":1,"action":"reject","reason":"r"},{"procedure_id":"","no":99}]}`,
		`{"items":[{"procedure_id":"x","no":"1"}]}`, `{"items":{}}`, `{"max":3}`, `[`, "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		e.env.t = t
		for _, path := range []string{"/v1/procedure-tasks/settle", "/v1/procedure-tasks/claim"} {
			r := e.do("POST", path, e.civil, body)
			if r.status >= 500 || !json.Valid(r.body) {
				t.Fatalf("%s: status %d for %q: %s", path, r.status, body, r.body)
			}
		}
	})
}
