package workflow_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/workflow"
)

// TestFileReadRights: who may read a file (review finding 3). Lodgings and
// agencies outside the chain are refused with Forbidden; an agency in the
// chain only once its step has reached it, and then sees the reduced
// application; officers of the place and auditors see it whole. Every
// attempt is in the subject's access log.
func TestFileReadRights(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := t.Context()
		lodging := w.principal(t, cancuoc.RoleLodging, "", cancuoc.Jurisdiction{Province: hanoi, Commune: baDinh})
		transport := w.principal(t, cancuoc.RoleMinistrySystem, "transport", cancuoc.Jurisdiction{})
		auditor := w.principal(t, cancuoc.RoleAuditor, "", cancuoc.Jurisdiction{})
		officerNgocHa := w.principal(t, cancuoc.RoleCommuneOfficer, "", cancuoc.Jurisdiction{Province: hanoi, Commune: ngocHa})
		f := w.submitBirth(t)

		refused := map[string]*cancuoc.Principal{"lodging": lodging, "transport ministry": transport,
			"insurance before its step": w.insurance, "labour (not in the chain)": w.labour,
			"officer of another commune": officerNgocHa}
		for name, p := range refused {
			if _, err := w.wf.File(ctx, p, f.ID); cancuoc.KindOf(err) != cancuoc.Forbidden {
				t.Errorf("%s read the file: %v, want Forbidden", name, err)
			}
		}
		for name, p := range map[string]*cancuoc.Principal{"auditor": auditor, "police of the place": w.police, "admin": w.admin} {
			got, err := w.wf.File(ctx, p, f.ID)
			if err != nil || !strings.Contains(string(got.Application), w.mother.PIN.String()) {
				t.Errorf("%s: file %s, %v; want the whole application", name, application(got), err)
			}
		}

		w.runStep(t, w.civil, f.ID, 1)
		if _, err := w.wf.File(ctx, w.insurance, f.ID); cancuoc.KindOf(err) != cancuoc.Forbidden {
			t.Errorf("insurance read the file while police had it: %v, want Forbidden", err)
		}
		w.runStep(t, w.police, f.ID, 2)
		got, err := w.wf.File(ctx, w.insurance, f.ID)
		if err != nil {
			t.Fatalf("insurance with its step in the queue: %v", err)
		}
		var app map[string]any
		if err := json.Unmarshal(got.Application, &app); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"mother", "father", "ethnicity", "birth_place", "residence_parent"} {
			if _, ok := app[k]; ok {
				t.Errorf("insurance sees %q in the application %s", k, got.Application)
			}
		}
		if app["full_name"] != "Nguyễn Minh An" || got.Subject == "" {
			t.Errorf("insurance's reduced file lacks what the card needs: %s, subject %q", got.Application, got.Subject)
		}
		if len(got.Steps) != 3 || got.Steps[0].Result != nil || got.Steps[2].Agency != workflow.AgencySocialInsurance {
			t.Errorf("insurance's steps: %+v", got.Steps)
		}
		// The reduced view is a copy: the stored file is still whole.
		if whole := w.file(t, f.ID); whole.Steps[0].Result == nil || !strings.Contains(string(whole.Application), "mother") {
			t.Errorf("the admin's view after the reduced one: %s", whole.Application)
		}
		// Still readable after the step is done (the agency keeps its record).
		w.runStep(t, w.insurance, f.ID, 3)
		if _, err := w.wf.File(ctx, w.insurance, f.ID); err != nil {
			t.Errorf("insurance after its step: %v", err)
		}

		// Reads before the birth is registered are in the applicant's log,
		// later ones in the child's.
		entries, err := w.store.AuditFor(ctx, w.mother.PIN, 200)
		if err != nil {
			t.Fatal(err)
		}
		more, err := w.store.AuditFor(ctx, got.Subject, 200)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, more...)
		denied, reduced := map[string]bool{}, 0
		for _, e := range entries {
			if e.Action == "procedure.read" && e.Outcome != "ok" {
				denied[e.Actor] = true
			}
			if e.Action == "procedure.read" && len(e.Fields) == 1 && e.Fields[0] == "procedure:reduced" {
				reduced++
			}
		}
		for name, p := range refused {
			if !denied[p.ID] {
				t.Errorf("the refused read by %s is not in the access log", name)
			}
		}
		if reduced != 2 {
			t.Errorf("%d reduced reads audited, want 2", reduced)
		}
	})
}

func application(f *workflow.File) string {
	if f == nil {
		return "<nil>"
	}
	return string(f.Application)
}
