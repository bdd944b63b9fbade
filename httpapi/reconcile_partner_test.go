package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/httpapi"
	"github.com/cancuoc/cancuoc/partner"
	"github.com/cancuoc/cancuoc/reconcile"
	"github.com/cancuoc/cancuoc/sqlite"
)

// newPartnerReconEnv is the partners' stack with the reconciliation
// service, its reports revealing what each partner's policy allows.
func newPartnerReconEnv(t *testing.T) *partnerEnv {
	return newPartnerEnv(t, func(api *httpapi.API, store *sqlite.Store, ps *partner.Service) {
		r := &reconcile.Runner{Store: store, Policy: reconcile.PartnerPolicy{Partners: ps, Fallback: reconcile.RevealList(nil)}, Chunk: 2}
		svc, err := reconcile.NewService(context.Background(), r, t.TempDir(), 1<<20, 2, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(svc.Close)
		api.WithReconcile(svc.WithPartners(ps))
	})
}

// upload posts a CSV data set with a bearer token (a partner's, or an
// API key).
func (e *partnerEnv) upload(token, csv string) *response {
	e.t.Helper()
	req, _ := http.NewRequestWithContext(e.t.Context(), "POST", e.srv.URL+"/v1/reconciliations?report_format=jsonl", strings.NewReader(csv))
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return &response{t: e.t, status: res.StatusCode, header: res.Header, body: raw}
}

// waitJob polls a job until it is done.
func (e *partnerEnv) waitJob(auth, id string) reconJob {
	e.t.Helper()
	var job reconJob
	deadline := time.Now().Add(20 * time.Second)
	for job.Status != cancuoc.ReconDone {
		if time.Now().After(deadline) {
			e.t.Fatalf("job not done: %+v", job)
		}
		e.do("GET", "/v1/reconciliations/"+id, auth, nil).ok(http.StatusOK, &job)
		if job.Status == cancuoc.ReconFailed {
			e.t.Fatalf("job failed: %+v", job)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return job
}

func reconPolicy(fields []string, q cancuoc.Quota) cancuoc.PartnerPolicy {
	return cancuoc.PartnerPolicy{Operations: []cancuoc.PartnerOp{cancuoc.OpReconcile}, Fields: fields,
		Purpose: "Làm sạch dữ liệu khách hàng", LegalBasis: "Nghị định 69/2024/NĐ-CP", Quota: q}
}

// TestPartnerReconciliationAPI: a partner's system with its
// client-credentials token (private_key_jwt) runs a job; the report shows
// registry values only for its policy's fields; other partners do not see
// the job; the quota bounds job creation, not polling; a partner without
// the operation is refused; the ministries' API-key path still works.
func TestPartnerReconciliationAPI(t *testing.T) {
	e := newPartnerReconEnv(t)
	vcb := e.addPartner("vcb", reconPolicy([]string{"full_name", "birth_date"}, cancuoc.Quota{PerMinute: 2}))
	tcb := e.addPartner("tcb", reconPolicy([]string{"full_name", "birth_date", "sex"}, cancuoc.Quota{}))
	matchOnly := e.addPartner("mb", bankPolicy(cancuoc.Quota{}))

	pin := string(e.cit.PIN)
	otherSex := map[cancuoc.Sex]string{cancuoc.Male: "nữ", cancuoc.Female: "nam"}[e.cit.Sex]
	csv := "record_id,pin,full_name,birth_date,sex\r\n" +
		"k1," + pin + ",Nguyễn Văn Dũng,01/01/1991," + otherSex + "\r\n"

	var job reconJob
	e.upload(vcb, csv).ok(http.StatusAccepted, &job)
	job = e.waitJob("bearer:"+vcb, job.ID)
	if job.Counts[reconcile.MatchedDiff] != 1 {
		t.Fatalf("counts %v", job.Counts)
	}
	rep := e.do("GET", job.Report, "bearer:"+vcb, nil)
	if rep.status != http.StatusOK {
		t.Fatalf("report: %d %s", rep.status, rep.body)
	}
	var line reconcile.Result
	if err := json.Unmarshal(rep.body, &line); err != nil {
		t.Fatalf("report %s: %v", rep.body, err)
	}
	if strings.Join(line.Differences, ",") != "full_name,birth_date,sex" {
		t.Errorf("differences %v", line.Differences)
	}
	// The policy has full_name and birth_date, not sex: only those two
	// registry values are in the report.
	if line.Registry["full_name"] != e.cit.FullName || line.Registry["birth_date"] != e.cit.BirthDate.String() || len(line.Registry) != 2 {
		t.Errorf("revealed %v", line.Registry)
	}

	// Another partner (even one allowed to reconcile) does not learn the job exists.
	e.do("GET", "/v1/reconciliations/"+job.ID, "bearer:"+tcb, nil).problem(http.StatusNotFound, "reconciliation_not_found")
	e.do("GET", job.Report, "bearer:"+tcb, nil).problem(http.StatusNotFound, "reconciliation_not_found")
	// A partner whose policy lacks the operation is refused.
	e.upload(matchOnly, csv).problem(http.StatusForbidden, "operation_not_allowed")
	e.do("GET", "/v1/reconciliations/"+job.ID, "bearer:"+matchOnly, nil).problem(http.StatusForbidden, "operation_not_allowed")

	// The quota (2 a minute) counts created jobs; the polls above did not count.
	e.upload(vcb, csv).ok(http.StatusAccepted, nil)
	res := e.upload(vcb, csv)
	res.problem(http.StatusTooManyRequests, "quota_exceeded")
	if res.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}

	// The national administrator's API key still creates and sees jobs;
	// an API key sees no registry values (no policy of its own).
	var own reconJob
	e.upload(e.admin, csv).ok(http.StatusAccepted, &own)
	own = e.waitJob("bearer:"+e.admin, own.ID)
	rep = e.do("GET", own.Report, "bearer:"+e.admin, nil)
	line = reconcile.Result{}
	if err := json.Unmarshal(rep.body, &line); err != nil || len(line.Registry) != 0 || len(line.Differences) != 3 {
		t.Errorf("API-key report %s: %v", rep.body, err)
	}
	e.do("GET", "/v1/reconciliations/"+job.ID, "bearer:"+e.admin, nil).ok(http.StatusOK, nil)
	// …and the partner does not see the administrator's job.
	e.do("GET", "/v1/reconciliations/"+own.ID, "bearer:"+vcb, nil).problem(http.StatusNotFound, "reconciliation_not_found")

	// A disabled partner can no longer follow its own jobs.
	var p cancuoc.Partner
	e.do("POST", "/v1/partners/vcb/disable", "bearer:"+e.admin, nil).ok(http.StatusOK, &p)
	e.do("GET", "/v1/reconciliations/"+job.ID, "bearer:"+vcb, nil).problem(http.StatusForbidden, "partner_disabled")
}
