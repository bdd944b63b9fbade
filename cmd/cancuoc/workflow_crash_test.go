package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/postgres"
	"github.com/cancuoc/cancuoc/postgres/pgtest"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/workflow"
	"github.com/cancuoc/cancuoc/workflow/wftest"
)

// The crash test runs the interlinked procedures against the real binary
// while killing it with SIGKILL at random moments, and checks afterwards
// that every file completed exactly once. CRASH_FILES sets the files of
// each kind (200 by default; -short uses 40).

func crashFiles(t *testing.T) int {
	if v, err := strconv.Atoi(os.Getenv("CRASH_FILES")); err == nil && v > 0 {
		return v
	}
	if testing.Short() {
		return 40
	}
	return 200
}

// seedCrash creates the principals and people before the server runs.
func seedCrash(t *testing.T, st cancuoc.Store, n int) *wftest.Seeded {
	t.Helper()
	cw, err := wftest.Seed(t.Context(), st, n, workflow.Agencies())
	if err != nil {
		t.Fatal(err)
	}
	return cw
}

// buildBinary builds cancuoc once per test binary, into binDir, which
// TestMain removes when the tests end.
var (
	binDir    atomic.Value // string
	buildOnce = sync.OnceValues(func() (string, error) {
		dir, err := os.MkdirTemp("", "cancuoc-crash-bin")
		if err != nil {
			return "", err
		}
		binDir.Store(dir)
		return buildIn(dir)
	})
)

func buildIn(dir string) (string, error) {
	bin := filepath.Join(dir, "cancuoc")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, ok := binDir.Load().(string); ok && dir != "" {
		_ = os.RemoveAll(dir)
	}
	os.Exit(code)
}

// proc is a child process the test kills and restarts.
type proc struct {
	t    *testing.T
	name string
	args []string
	env  []string
	log  *syncBuffer
	mu   sync.Mutex
	cmd  *exec.Cmd
	addr string // waited for on start
}

func (p *proc) start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd := exec.Command(p.name, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("start %s: %v", p.name, err)
	}
	p.cmd = cmd
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", p.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("%s did not listen on %s; log:\n%s", p.name, p.addr, tail(p.log.String()))
}

func (p *proc) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
		p.cmd = nil
	}
}

func tail(s string) string {
	if len(s) > 4000 {
		return s[len(s)-4000:]
	}
	return s
}

// client is an agency's or the counter's system: it retries every request
// until it gets an answer that is not a network error or a 5xx, with the
// same Idempotency-Key, as a real integration must.
type client struct {
	base  string
	key   string
	http  *http.Client
	stop  *atomic.Bool
	tries *atomic.Int64
}

func (c *client) call(ctx context.Context, method, path, idem string, body any, out any) (int, error) {
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(raw))
		req.Header.Set("Authorization", "Bearer "+c.key)
		req.Header.Set("Content-Type", "application/json")
		if idem != "" {
			req.Header.Set("Idempotency-Key", idem)
		}
		res, err := c.http.Do(req)
		if err == nil {
			b, rerr := io.ReadAll(res.Body)
			res.Body.Close()
			// A body cut short is the server dying mid-answer: ask again.
			if rerr == nil && res.StatusCode < 500 {
				if out != nil && res.StatusCode < 300 {
					if err := json.Unmarshal(b, out); err != nil {
						return res.StatusCode, fmt.Errorf("%s %s: %v: %s", method, path, err, b)
					}
				}
				if res.StatusCode >= 300 && out != nil {
					return res.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, b)
				}
				return res.StatusCode, nil
			}
		}
		c.tries.Add(1)
		time.Sleep(50 * time.Millisecond)
	}
	return 0, ctx.Err()
}

// tally is what the agencies' clients did.
type tally struct {
	completed atomic.Int64 // steps answered completed
	batched   atomic.Int64 // of which through the batch routes
	multi     atomic.Int64 // settlements of several steps (SettleBatchTx's savepoints)
	settled   sync.Map     // "file-no" of every step answered completed
}

// done notes a step answered completed.
func (tl *tally) done(id string, no int) {
	tl.completed.Add(1)
	tl.settled.Store(fmt.Sprintf("%s-%d", id, no), true)
}

// agencyLoop works an agency's queue until stop: claim then complete each
// task, with keys derived from the task so a retry after a crash repeats
// the same request.
func agencyLoop(ctx context.Context, t *testing.T, c *client, agency string, tl *tally) {
	for ctx.Err() == nil && !c.stop.Load() {
		var page struct {
			Items []struct {
				ProcedureID string `json:"procedure_id"`
				No          int    `json:"no"`
			} `json:"items"`
		}
		if _, err := c.call(ctx, "GET", "/v1/procedure-tasks?limit=50", "", nil, &page); err != nil {
			if ctx.Err() == nil {
				t.Errorf("%s queue: %v", agency, err)
			}
			return
		}
		if len(page.Items) == 0 {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		for _, it := range page.Items {
			step := fmt.Sprintf("/v1/procedures/%s/steps/%d/", it.ProcedureID, it.No)
			id := fmt.Sprintf("%s-%d", it.ProcedureID, it.No)
			st, err := c.call(ctx, "POST", step+"claim", "claim-"+id, nil, nil)
			if err != nil || st != 200 {
				continue // another round will see it (a lease, a closed file)
			}
			st, err = c.call(ctx, "POST", step+"complete", "done-"+id, map[string]string{"note": "tự động"}, nil)
			if err == nil && st == 200 {
				tl.done(it.ProcedureID, it.No)
			} else if ctx.Err() == nil {
				t.Errorf("%s complete %s: status %d %v", agency, id, st, err)
			}
		}
	}
}

// crashBatch is how many tasks a batch client claims at once: small, so
// that many claims and settlements are in flight when the server dies.
const crashBatch = 8

// batchLoop works an agency's queue with the batch routes until stop, as
// bench/procbench's batch clients do: claim up to crashBatch tasks in one
// call, then complete them all in one call. Each call has a key of its
// own, sent again with every retry after a connection error or a 5xx, so
// a claim or settlement the server committed before it was killed is
// answered again, not made twice. The tasks claimed stay this client's
// (a lease of 15 minutes) until it settles them, whatever the kills.
// A step answered completed must never be handed out again.
func batchLoop(ctx context.Context, t *testing.T, c *client, name string, tl *tally) {
	type task struct {
		ProcedureID string `json:"procedure_id"`
		No          int    `json:"no"`
	}
	for call := 0; ctx.Err() == nil && !c.stop.Load(); call++ {
		key := fmt.Sprintf("%s-%d", name, call)
		var claimed struct {
			Items []task `json:"items"`
		}
		if _, err := c.call(ctx, "POST", "/v1/procedure-tasks/claim", "claim-"+key, map[string]int{"max": crashBatch}, &claimed); err != nil {
			if ctx.Err() == nil {
				t.Errorf("%s claim: %v", name, err)
			}
			return
		}
		if len(claimed.Items) == 0 {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		items := make([]map[string]any, len(claimed.Items))
		for i, it := range claimed.Items {
			if _, ok := tl.settled.Load(fmt.Sprintf("%s-%d", it.ProcedureID, it.No)); ok {
				t.Errorf("%s claimed %s-%d, a step answered completed before", name, it.ProcedureID, it.No)
			}
			items[i] = map[string]any{"procedure_id": it.ProcedureID, "no": it.No, "note": "tự động, theo lô"}
		}
		var settled struct {
			Items []struct {
				task
				Status  int `json:"status"`
				Problem *struct {
					Code string `json:"code"`
				} `json:"problem"`
			} `json:"items"`
		}
		if _, err := c.call(ctx, "POST", "/v1/procedure-tasks/settle", "settle-"+key, map[string]any{"items": items}, &settled); err != nil {
			if ctx.Err() == nil {
				t.Errorf("%s settle: %v", name, err)
			}
			return
		}
		if len(settled.Items) != len(items) {
			t.Errorf("%s settle: %d items answered for %d sent", name, len(settled.Items), len(items))
		}
		if len(items) > 1 {
			tl.multi.Add(1)
		}
		for _, it := range settled.Items {
			if it.Status == 200 {
				tl.done(it.ProcedureID, it.No)
				tl.batched.Add(1)
				continue
			}
			// Each task was claimed by this client, under a lease far
			// longer than the run: refusing one is a lost step.
			code := ""
			if it.Problem != nil {
				code = it.Problem.Code
			}
			t.Errorf("%s settle %s-%d: status %d %s", name, it.ProcedureID, it.No, it.Status, code)
		}
		if len(claimed.Items) < crashBatch {
			// The queue is drained: an agency's system polls again after
			// its interval, so tasks gather and batches hold several.
			time.Sleep(150 * time.Millisecond)
		}
	}
}

// natsRecovery is how long a live server may take to relay and consume
// events again after NATS restarts: what NATS had handed out and not yet
// been acknowledged is due again after AckWait (30 s), and a pinned
// consumer's pin moves after PinnedTTL (40 s).
const natsRecovery = 90 * time.Second

// natsRestart kills NATS for a moment under the live server and waits
// until, on the new NATS, the server's relay has stored an event and its
// workflow consumer has acknowledged everything the new NATS had handed
// out to it (its acknowledgement floor beyond the deliveries it restored
// from disk): so the relay and the consumer found it again on their own,
// and what was in flight when NATS died came back.
func natsRestart(ctx context.Context, t *testing.T, ns *proc, url string) {
	ns.kill()
	time.Sleep(500 * time.Millisecond)
	ns.start()
	back := time.Now()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1))
	if err != nil {
		t.Errorf("connect to the restarted NATS: %v", err)
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Error(err)
		return
	}
	// state reads the stream's last message and the workflow consumer's
	// deliveries and acknowledgement floor (consumer sequences).
	state := func() (last, delivered, acked uint64, err error) {
		ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		s, err := js.Stream(ictx, "CANCUOC_EVENTS")
		if err != nil {
			return 0, 0, 0, err
		}
		c, err := s.Consumer(ictx, workflow.ConsumerName)
		if err != nil {
			return 0, 0, 0, err
		}
		ci, err := c.Info(ictx)
		if err != nil {
			return 0, 0, 0, err
		}
		return s.CachedInfo().State.LastSeq, ci.Delivered.Consumer, ci.AckFloor.Consumer, nil
	}
	var last0, delivered0 uint64
	for { // JetStream loads its streams after the port opens
		if last0, delivered0, _, err = state(); err == nil || time.Since(back) > natsRecovery || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Errorf("the stream or the workflow consumer on the restarted NATS: %v", err)
		return
	}
	var last, acked uint64
	for time.Since(back) < natsRecovery && ctx.Err() == nil {
		if last, _, acked, err = state(); err == nil && last > last0 && acked > delivered0 {
			t.Logf("NATS restarted under the live server: events relayed and handled again after %v", time.Since(back).Round(100*time.Millisecond))
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("the live server did not relay and consume events within %v of NATS's restart: stream's last message %d (%d at the restart), consumer acknowledged to %d (%d delivered at the restart), %v",
		natsRecovery, last, last0, acked, delivered0, err)
}

type crashSetup struct {
	store   func() cancuoc.Store // opens the server's database in the test
	args    []string             // database flags for serve
	nats    *proc                // nil: in-process events
	natsURL string
	files   int // of each kind; 0: crashFiles
}

func runCrash(t *testing.T, port int, setup crashSetup) {
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	n := setup.files
	if n == 0 {
		n = crashFiles(t)
	}
	dir := t.TempDir()
	st := setup.store()
	cw := seedCrash(t, st, n)
	// The death chain's effects outside the registry: every elder has an
	// eID account, and a partner listens for deaths.
	deaths := newDeathWatch(t, st, dir, cw.Elders)
	st.Close()

	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := append([]string{"serve", "--addr", addr, "--data-dir", dir, "--demo-citizens", "0", "--log-level", "warn"}, setup.args...)
	args = append(args, deaths.args...)
	if setup.natsURL != "" {
		args = append(args, "--nats-url", setup.natsURL)
	}
	srv := &proc{t: t, name: bin, args: args, log: &syncBuffer{}, addr: addr}
	srv.start()
	defer srv.kill()

	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	var stop atomic.Bool
	var retries atomic.Int64
	hc := &http.Client{Timeout: 10 * time.Second}
	mk := func(agency string, i int) *client {
		return &client{base: "http://" + addr, key: cw.Keys[agency][i], http: hc, stop: &stop, tries: &retries}
	}

	// The counter submits every file, each with its own key.
	var wg, submitted sync.WaitGroup
	ids := make([]string, 2*n)
	submitted.Go(func() {
		c := mk(workflow.AgencyCivilStatus, 0)
		for i := range n {
			for k, sub := range []map[string]any{
				{"kind": "birth", "applicant": cw.Mothers[i], "birth": map[string]any{"full_name": "Nguyễn Minh An",
					"birth_date": "2026-01-10", "sex": "male", "mother": map[string]any{"pin": cw.Mothers[i]},
					"registration": map[string]any{"province": wftest.Province, "commune": wftest.Commune}}},
				{"kind": "death", "applicant": cw.Mothers[i], "death": map[string]any{"deceased": cw.Elders[i], "date": "2026-01-05",
					"funeral_allowance": true, "insured": i%2 == 0, "survivor_benefit": i%2 == 0}},
			} {
				var f struct {
					ID string `json:"id"`
				}
				if _, err := c.call(ctx, "POST", "/v1/procedures", fmt.Sprintf("sub-%d-%d", i, k), sub, &f); err != nil {
					t.Errorf("submit %d/%d: %v", i, k, err)
					return
				}
				ids[2*i+k] = f.ID
			}
		}
	})
	var tl tally
	for _, ag := range []string{workflow.AgencyCivilStatus, workflow.AgencyPolice, workflow.AgencySocialInsurance, workflow.AgencyLabour} {
		// Two clients per agency race for the same tasks: one a step at a
		// time, one with the batch routes, so that both ways are proven
		// exactly-once.
		wg.Go(func() { agencyLoop(ctx, t, mk(ag, 0), ag, &tl) })
		wg.Go(func() { batchLoop(ctx, t, mk(ag, 1), ag+"-batch", &tl) })
	}

	// Kill the server at random moments while files flow, at least three
	// times whatever the pace. With NATS, once about a third of the steps
	// are done, NATS is restarted instead, under the live server, which
	// must find it again on its own (natsRestart) before it is killed
	// again; until then the kills stop after four, so the restart comes
	// in the middle whatever the pace.
	kills, natsRestarts, killsAfterNATS := 0, 0, 0
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	wantSteps := int64(n*3 + n*3 + n/2) // birth 3; death 3, +1 survivor benefit for the insured half
	natsDue := func() bool { return setup.nats != nil && natsRestarts == 0 }
	for (tl.completed.Load() < wantSteps*9/10 || kills < 3 || natsDue() || (setup.nats != nil && killsAfterNATS == 0)) &&
		kills < 8 && ctx.Err() == nil {
		// A random moment, or as soon as a third of the steps are done
		// when NATS's restart is due (files flow fast: later, the middle
		// may be passed).
		for at := time.Now().Add(time.Duration(100+rng.IntN(900)) * time.Millisecond); time.Now().Before(at); {
			if natsDue() && tl.completed.Load() >= wantSteps/3 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if natsDue() && tl.completed.Load() >= wantSteps/3 {
			natsRestart(ctx, t, setup.nats, setup.natsURL)
			natsRestarts++
			continue
		}
		if natsDue() && kills >= 4 {
			continue // wait for the middle
		}
		srv.kill()
		kills++
		if natsRestarts > 0 {
			killsAfterNATS++
		}
		srv.start()
	}
	// Let the rest finish, then check (ids is complete once the counter is done).
	submitted.Wait()
	c := mk(workflow.AgencyCivilStatus, 0)
	var open []string
	for {
		// The scan has its own time limit, so that the last one before the
		// deadline still says which files are missing.
		sctx, scancel := context.WithTimeout(context.Background(), time.Minute)
		open = open[:0]
		for i, id := range ids {
			if id == "" {
				open = append(open, fmt.Sprintf("#%d never submitted", i))
				continue
			}
			var f struct {
				Status string `json:"status"`
			}
			if _, err := c.call(sctx, "GET", "/v1/procedures/"+id, "", nil, &f); err != nil || f.Status != "completed" {
				open = append(open, fmt.Sprintf("%s %s %v", id, f.Status, err))
			}
		}
		scancel()
		if len(open) == 0 || ctx.Err() != nil {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if len(open) == 0 {
		deaths.wait(ctx)
		live := setup.store()
		deaths.waitClosed(ctx, live)
		live.Close()
	}
	timedOut := ctx.Err() != nil
	stop.Store(true)
	cancel()
	wg.Wait()
	srv.kill()
	if timedOut {
		t.Errorf("deadline passed with %d of %d files not completed (first: %v) and %d of %d deaths told to the partner",
			len(open), len(ids), open[:min(len(open), 10)], deaths.notified(), n)
	}
	if kills < 3 {
		t.Errorf("%d kills, want at least 3", kills)
	}
	if setup.nats != nil && (natsRestarts != 1 || killsAfterNATS == 0) {
		t.Errorf("NATS restarted %d times, want 1 (after a third of the steps), with %d kills after it, want 1 or more", natsRestarts, killsAfterNATS)
	}
	if tl.batched.Load() == 0 || tl.multi.Load() == 0 {
		t.Errorf("%d steps settled through the batch routes, %d settlements of several: the test proves nothing of them", tl.batched.Load(), tl.multi.Load())
	}
	if t.Failed() {
		t.Logf("server log:\n%s", tail(srv.log.String()))
		return
	}
	t.Logf("%d files of each kind, %d kills (%d after NATS restarted), %d NATS restarts, %d steps completed by clients (%d through the batch routes, %d settlements of several steps), %d retried requests",
		n, kills, killsAfterNATS, natsRestarts, tl.completed.Load(), tl.batched.Load(), tl.multi.Load(), retries.Load())
	st = setup.store()
	defer st.Close()
	vctx, vcancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer vcancel()
	verifyCrash(vctx, t, st, cw, ids)
	verifyLogAfterCrash(vctx, t, st)
	deaths.verify(st)
	if vctx.Err() != nil {
		t.Errorf("verification did not finish within its 3 minutes: %v", vctx.Err())
	}
}

// verifyLogAfterCrash checks that the kills left the access log one chain
// 1…n and the outbox in strictly increasing seqs with no event twice: on
// PostgreSQL the entries and events were queued by the killed nodes and
// sequenced by whichever node led, and the leader was killed too.
func verifyLogAfterCrash(ctx context.Context, t *testing.T, st cancuoc.Store) {
	if err := cancuoc.WaitSequenced(ctx, st); err != nil {
		t.Fatal(err)
	}
	n, err := st.AuditSize(ctx)
	if err != nil || n == 0 {
		t.Fatalf("AuditSize: %d, %v", n, err)
	}
	var prev []byte
	for from := int64(1); from <= n; from += 5000 {
		es, err := st.AuditRange(ctx, from, min(from+4999, n))
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range es {
			if e.ID != from+int64(i) || !bytes.Equal(e.Hash, cancuoc.AuditChainHash(prev, e)) {
				t.Fatalf("access log entry %d (ID %d): gap or broken chain after the kills", from+int64(i), e.ID)
			}
			prev = e.Hash
		}
	}
	seen := map[string]bool{}
	var last int64
	for {
		evs, err := st.EventsAfter(ctx, last, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			break
		}
		for _, e := range evs {
			if e.Seq <= last || seen[e.ID] {
				t.Fatalf("event %s (seq %d after %d): out of order or twice after the kills", e.ID, e.Seq, last)
			}
			seen[e.ID], last = true, e.Seq
		}
	}
}

// verifyCrash checks exactly-once: each file completed with all its steps,
// one child per mother (one PIN), in her household, with one birth
// certificate and one health card; each elder dead, deregistered, with one
// allowance (and one survivor benefit when insured); no extra files.
func verifyCrash(ctx context.Context, t *testing.T, st cancuoc.Store, cw *wftest.Seeded, ids []string) {
	all, err := st.Procedures(ctx, cancuoc.ProcedureQuery{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(ids) {
		t.Errorf("%d files stored, %d submitted: a retried submission made a duplicate or one was lost", len(all), len(ids))
	}
	for _, p := range all {
		if p.Status != cancuoc.ProcedureCompleted {
			t.Errorf("file %s is %s", p.ID, p.Status)
		}
		steps, err := st.Steps(ctx, cancuoc.StepQuery{ProcedureID: p.ID})
		if err != nil {
			t.Fatal(err)
		}
		want := 3
		var app workflow.DeathApplication
		if p.Kind == cancuoc.ProcedureDeath {
			_ = json.Unmarshal(p.Application, &app)
			if app.SurvivorBenefit {
				want = 4
			}
		}
		if len(steps) != want {
			t.Errorf("file %s (%s) has %d steps, want %d", p.ID, p.Kind, len(steps), want)
		}
		for _, s := range steps {
			if s.Status != cancuoc.StepCompleted {
				t.Errorf("file %s step %d is %s", p.ID, s.No, s.Status)
			}
		}
	}
	for i, m := range cw.Mothers {
		mother, err := st.Citizen(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if len(mother.Children) != 1 {
			t.Errorf("mother %d has %d children registered, want 1", i, len(mother.Children))
			continue
		}
		child, err := st.Citizen(ctx, mother.Children[0].PIN)
		if err != nil {
			t.Fatal(err)
		}
		if child.Household == nil || child.Household.ID != mother.Household.ID {
			t.Errorf("child of mother %d: household %+v", i, child.Household)
		}
		docs, err := st.IssuedDocuments(ctx, child.PIN)
		if err != nil || len(docs) != 2 {
			t.Errorf("child of mother %d: documents %+v, %v; want a birth certificate and a health card", i, docs, err)
		}
		hist, _ := st.Versions(ctx, child.PIN)
		if len(hist) != 2 { // registered, then residence: once each
			t.Errorf("child of mother %d has %d versions, want 2", i, len(hist))
		}
	}
	for i, e := range cw.Elders {
		c, err := st.Citizen(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		if c.LifeStatus != cancuoc.Dead || c.PermanentResidence != nil {
			t.Errorf("elder %d: %s, residence %+v", i, c.LifeStatus, c.PermanentResidence)
		}
		docs, _ := st.IssuedDocuments(ctx, e)
		want := 2 // the birth certificate of their registration, the funeral allowance
		if i%2 == 0 {
			want = 3 // and the survivor benefit
		}
		if len(docs) != want {
			t.Errorf("elder %d: %d documents, want %d", i, len(docs), want)
		}
		hist, _ := st.Versions(ctx, e)
		if len(hist) != 3 { // registered, dead, deregistered
			t.Errorf("elder %d has %d versions, want 3", i, len(hist))
		}
	}
}

func TestCrashSQLite(t *testing.T) {
	db := filepath.Join(t.TempDir(), "crash.db")
	runCrash(t, freePort(t), crashSetup{
		store: func() cancuoc.Store {
			s, err := sqlite.Open(context.Background(), db)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		args: []string{"--database", db},
	})
}

// TestCrashPostgresNATS runs the crash test on PostgreSQL and NATS
// JetStream: on the NATS server release go.mod names (2.11 and later pin
// consumers and take several filters: the path of a current deployment),
// built from the module; and, with fewer files, on the distribution's
// nats-server when it is older (Debian's 2.9: one message in flight per
// consumer, one filter), the other path dispatch/consume.go keeps.
func TestCrashPostgresNATS(t *testing.T) {
	t.Run("module", func(t *testing.T) {
		bin, err := buildNATSOnce()
		if err != nil {
			t.Fatal(err)
		}
		crashPostgresNATS(t, bin, crashFiles(t))
	})
	t.Run("distro", func(t *testing.T) {
		bin := "/usr/sbin/nats-server"
		if p, err := exec.LookPath("nats-server"); err == nil {
			bin = p
		} else if _, err := os.Stat(bin); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("nats-server is not installed: CI must run the crash test on the distribution's NATS server too (.ci/run installs it)")
			}
			t.Skip("SKIPPING the crash test on the distribution's NATS server: nats-server is not installed (apt-get install nats-server)")
		}
		out, err := exec.Command(bin, "--version").Output()
		if err != nil {
			t.Fatalf("%s --version: %v", bin, err)
		}
		v := strings.TrimPrefix(strings.TrimSpace(string(out)), "nats-server: v")
		var major, minor int
		if _, err := fmt.Sscanf(v, "%d.%d", &major, &minor); err == nil && (major > 2 || minor >= 11) {
			t.Skipf("the distribution's nats-server is %s, which pins consumers: the module case covers it", v)
		}
		crashPostgresNATS(t, bin, max(crashFiles(t)/4, 20))
	})
}

// buildNATSOnce builds the NATS server of go.mod once per test binary,
// beside cancuoc in binDir, as bench/procedures.sh does.
var buildNATSOnce = sync.OnceValues(func() (string, error) {
	if _, err := buildOnce(); err != nil { // makes binDir
		return "", err
	}
	bin := filepath.Join(binDir.Load().(string), "nats-server")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/nats-io/nats-server/v2").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build nats-server: %v\n%s", err, out)
	}
	return bin, nil
})

func crashPostgresNATS(t *testing.T, natsBin string, files int) {
	dbURL := pgtest.SchemaURL(t, "crash")
	ctx := context.Background()
	natsPort := freePort(t)
	natsAddr := fmt.Sprintf("127.0.0.1:%d", natsPort)
	ns := &proc{t: t, name: natsBin, args: []string{"-a", "127.0.0.1", "-p", strconv.Itoa(natsPort), "-js", "-sd", t.TempDir()},
		log: &syncBuffer{}, addr: natsAddr}
	ns.start()
	defer ns.kill()
	runCrash(t, freePort(t), crashSetup{
		store: func() cancuoc.Store {
			s, err := postgres.Open(ctx, dbURL)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		args:    []string{"--database", dbURL},
		nats:    ns,
		natsURL: "nats://" + natsAddr,
		files:   files,
	})
}

// freePort asks the kernel for a port nobody listens on, so that parallel
// runs of these tests (other checkouts on the same machine) never meet.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
