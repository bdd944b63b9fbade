package reconcile

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cancuoc/cancuoc"
)

// ActionReconcile is the audit action of a reconciliation touching a
// citizen: their record was compared, or their PIN named as a candidate.
// A chunk's entry names the block of citizens it touched (cancuoc.TouchedBlock).
const ActionReconcile = cancuoc.TouchedAction

// DefaultChunk is the number of records matched and checkpointed together:
// large enough that the per-chunk queries and commit are cheap per record,
// small enough that a resumed job redoes little.
const DefaultChunk = 50000

// Runner runs reconciliation jobs.
type Runner struct {
	Store  cancuoc.Store
	Policy Policy
	// Chunk is the records per chunk (DefaultChunk when 0).
	Chunk int
	// SeenKeys bounds the duplicate keys a job keeps in memory
	// (DefaultSeenKeys when 0): past it, new keys go to the store
	// (MarkSeen), so a job's memory stays flat however large its input.
	SeenKeys int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Progress, when set, is called after each chunk with the records and
	// input bytes done so far.
	Progress func(records, offset int64)
	// Phases, when set, accumulates where the time goes, for benchmarks.
	Phases *Phases
	// OnIndex, when set, is told of each index a job builds (its snapshot
	// time is the registry state the job sees).
	OnIndex func(*Index)
	// RunnerID names this runner in a job's lease (the process's own ID,
	// host/pid/random, when empty): two runners never work on one job.
	RunnerID string
	// Lease is how long a claim or checkpoint holds the job (DefaultLease
	// when 0): another runner may take the job over only after a runner
	// stopped checkpointing for that long.
	Lease time.Duration
	// Workers is how many chunks are parsed and matched at once
	// (GOMAXPROCS when 0).
	Workers int
	// IndexFrom is the input size from which a job matches against an
	// in-memory index of the registry, built by one scan when the job
	// (re)starts, rather than with queries per chunk (DefaultIndexFrom
	// when 0; never when negative). Small jobs do not pay for the scan.
	IndexFrom int64
	// Index, when set, is used by every job instead of a fresh one (a
	// shared index; its snapshot time is the jobs' view of the registry).
	Index *Index
	// hashed remembers the inputs Create hashed (path → hashedInput), so
	// that Run, right after in the same process, does not read a large
	// input a second time only to find it unchanged.
	hashed sync.Map
	// IndexFile, when set, keeps the index of a job that uses one between
	// jobs: a job loads it and applies the registry's changes since,
	// instead of scanning the registry (when the store can tell the
	// changes: cancuoc.MatchChangeReader).
	IndexFile *IndexFile
}

// DefaultIndexFrom: from about 100,000 records a scan of a national
// registry costs less than the per-chunk queries it saves.
const DefaultIndexFrom = 10 << 20

// DefaultSeenKeys is the duplicate keys a job keeps in memory at most:
// 24 million (two per record, so the first 12 million records), past
// which the rest go to the store. It is the most a table of 2^25 slots
// holds at 3/4 full (seenSet), 384 MiB: the table 16 million keys already
// took, which the bound of 16 million left a third empty while a
// 10-million-record job's last 4 million keys went to the store
// (reconcile_seen rows: tens of seconds of PostgreSQL CPU a job).
const DefaultSeenKeys = 24 << 20

func (r *Runner) seenKeys() int {
	if r.SeenKeys > 0 {
		return r.SeenKeys
	}
	return DefaultSeenKeys
}

func (r *Runner) workers() int {
	if r.Workers > 0 {
		return r.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// source is where a job's records are looked up: the shared index, a new
// index when the input is large, else the store itself (nil).
func (r *Runner) source(ctx context.Context, job *cancuoc.Reconciliation) (Source, error) {
	if r.Index != nil {
		return r.Index, nil
	}
	from := r.IndexFrom
	if from == 0 {
		from = DefaultIndexFrom
	}
	scanner, ok := r.Store.(cancuoc.MatchScanner)
	if from < 0 || job.InputSize-job.Offset < from || !ok {
		return nil, nil
	}
	t0 := time.Now()
	var ix *Index
	var err error
	if is, ok := scanner.(indexStore); ok && r.IndexFile != nil {
		ix, err = r.IndexFile.Open(ctx, is)
	} else {
		ix, err = BuildIndex(ctx, scanner)
	}
	if err != nil {
		return nil, err
	}
	if r.Phases != nil {
		r.Phases.mu.Lock()
		r.Phases.Index += time.Since(t0)
		r.Phases.IndexPeople, r.Phases.IndexBytes = ix.Len(), ix.Bytes()
		r.Phases.mu.Unlock()
	}
	if r.OnIndex != nil {
		r.OnIndex(ix)
	}
	return ix, nil
}

// DefaultLease is a job's lease: far longer than a chunk takes, so that a
// live runner always renews it in time.
const DefaultLease = 5 * time.Minute

// processRunner is the runner ID of this process.
var processRunner = func() string {
	host, _ := os.Hostname()
	return host + "/" + strconv.Itoa(os.Getpid()) + "/" + strings.ToLower(rand.Text()[:8])
}()

func (r *Runner) runner() string {
	if r.RunnerID != "" {
		return r.RunnerID
	}
	return processRunner
}

func (r *Runner) leaseUntil() time.Time {
	d := r.Lease
	if d <= 0 {
		d = DefaultLease
	}
	return r.now().Add(d)
}

// Phases is the time a Runner spent reading and parsing the input,
// matching (the registry queries and scoring), and committing chunks
// (duplicates, report, audit entries, checkpoint). Reading and matching
// run beside committing, so the sum exceeds the wall time.
type Phases struct {
	mu sync.Mutex
	// Index is the scan that builds the in-memory index (once per Run);
	// Read splits the input into records (one goroutine); Match is the
	// workers' parsing and matching, summed over workers (Parse is its
	// parsing part); Commit is the duplicate keys, report, access log and
	// checkpoint of every chunk (one goroutine, in input order).
	Index, Read, Parse, Match, Commit time.Duration
	// IndexPeople and IndexBytes are the index's size.
	IndexPeople int
	IndexBytes  int64
}

func (p *Phases) add(read, match, commit time.Duration) {
	p.mu.Lock()
	p.Read += read
	p.Match += match
	p.Commit += commit
	p.mu.Unlock()
}

func (p *Phases) addParse(d time.Duration) {
	p.mu.Lock()
	p.Parse += d
	p.mu.Unlock()
}

func (p *Phases) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	s := ""
	if p.IndexPeople > 0 {
		s = fmt.Sprintf("index %s (%d people, %d MiB, %d bytes/person), ", r(p.Index), p.IndexPeople,
			p.IndexBytes>>20, p.IndexBytes/int64(p.IndexPeople))
	}
	return s + fmt.Sprintf("read %s, parse+match %s (parse %s; summed over workers), commit %s", r(p.Read),
		r(p.Match), r(p.Parse), r(p.Commit))
}

// Spec describes a new job.
type Spec struct {
	Owner     string // principal or partner ID; "console" for the CLI
	Input     string // path of the input file
	Report    string // path of the report file to write
	Format    string // input format: csv or jsonl ("" guesses from the name)
	ReportFmt string // csv or jsonl ("" guesses from the report's name, else csv)
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// NewID returns a fresh job ID.
func NewID() string { return "rc_" + strings.ToLower(rand.Text()[:16]) }

// FormatOf guesses a format from a file name: jsonl for .jsonl/.ndjson/.json,
// csv otherwise.
func FormatOf(name string) string {
	n := strings.ToLower(name)
	for _, s := range []string{".jsonl", ".ndjson", ".json"} {
		if strings.HasSuffix(n, s) {
			return FormatJSONL
		}
	}
	return FormatCSV
}

// Create hashes the input, checks its header and stores a new job, ready
// to Run.
func (r *Runner) Create(ctx context.Context, s Spec) (*cancuoc.Reconciliation, error) {
	const op = "reconcile.Create"
	if s.Format == "" {
		s.Format = FormatOf(s.Input)
	}
	if s.ReportFmt == "" {
		s.ReportFmt = FormatOf(s.Report)
	}
	for _, f := range []string{s.Format, s.ReportFmt} {
		if f != FormatCSV && f != FormatJSONL {
			return nil, cancuoc.InvalidField(op, "format", "reconcile_format",
				"Định dạng phải là csv hoặc jsonl.", "The format must be csv or jsonl.")
		}
	}
	sum, size, err := r.hashInput(s.Input)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(s.Input)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	defer f.Close()
	if s.Format == FormatCSV {
		if _, err := NewCSVReader(f); err != nil {
			return nil, err
		}
	}
	now := r.now()
	fields, err := r.Policy.RevealFields(ctx, s.Owner)
	if err != nil {
		return nil, err
	}
	var reveal []string
	for _, f := range Revealable { // in a stable order
		if fields[f] {
			reveal = append(reveal, f)
		}
	}
	job := &cancuoc.Reconciliation{ID: NewID(), Owner: s.Owner, Input: s.Input, Report: s.Report, InputHash: sum,
		InputSize: size, Format: s.Format, ReportFmt: s.ReportFmt, Reveal: reveal, Status: cancuoc.ReconRunning,
		Counts: map[string]int64{}, CreatedAt: now, UpdatedAt: now}
	if err := r.Store.CreateReconciliation(ctx, job); err != nil {
		return nil, err
	}
	return job, nil
}

// hashedInput is an input as Create hashed it: its SHA-256 and the file's
// identity, size and modification time, the same before and after.
type hashedInput struct {
	sum  string
	info os.FileInfo
}

// hashInput hashes an input and remembers it (hashed).
func (r *Runner) hashInput(path string) (string, int64, error) {
	sum, n, info, err := hashFile(path)
	if err == nil && info != nil {
		r.hashed.Store(path, hashedInput{sum: sum, info: info})
	}
	return sum, n, err
}

// inputUnchanged reports whether an input's hash is known to be sum: this
// Runner hashed it, and it is still the same file with the same size and
// modification time. Anything else (another process, a file written
// since) is hashed again.
func (r *Runner) inputUnchanged(path, sum string) (bool, error) {
	v, ok := r.hashed.Load(path)
	if !ok || v.(hashedInput).sum != sum {
		_, _, err := r.hashInput(path)
		if err != nil {
			return false, err
		}
		v, _ = r.hashed.Load(path)
		return v != nil && v.(hashedInput).sum == sum, nil
	}
	h := v.(hashedInput)
	st, err := os.Stat(path)
	if err == nil && os.SameFile(st, h.info) && st.Size() == h.info.Size() && st.ModTime().Equal(h.info.ModTime()) {
		return true, nil
	}
	r.hashed.Delete(path)
	return r.inputUnchanged(path, sum)
}

// hashFile returns a file's SHA-256 and size, and its FileInfo when the
// file did not change while it was read (nil otherwise).
func hashFile(path string) (string, int64, os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, nil, cancuoc.InvalidField("reconcile.input", "input", "reconcile_input_unreadable",
			"Không đọc được tệp dữ liệu đầu vào.", "The input file cannot be read: "+err.Error())
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil {
		return "", 0, nil, cancuoc.WithOp("reconcile.hash", err)
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, nil, cancuoc.WithOp("reconcile.hash", err)
	}
	after, err := f.Stat()
	if err != nil || after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) {
		after = nil
	}
	return hex.EncodeToString(h.Sum(nil)), n, after, nil
}

// Run processes a job from its checkpoint to the end of its input: a new
// job from the start, an interrupted one from where it stopped. The input
// must be unchanged (its SHA-256 is checked). When ctx is cancelled the job
// stays "running" at its last checkpoint and Run can be called again.
func (r *Runner) Run(ctx context.Context, id string) (*cancuoc.Reconciliation, error) {
	const op = "reconcile.Run"
	job, err := r.Store.Reconciliation(ctx, id)
	if err != nil {
		return nil, err
	}
	if job.Status == cancuoc.ReconDone {
		return job, nil
	}
	if job.Status == cancuoc.ReconExpired {
		return nil, cancuoc.E(cancuoc.Conflict, op, "reconciliation_expired",
			"Phiên đối soát đã hết hạn lưu giữ; dữ liệu đầu vào đã bị xoá. Hãy tạo phiên mới.",
			"The reconciliation expired and its input was deleted; start a new job.")
	}
	// Take the job's lease before touching its report: a second runner (a
	// CLI --resume, another node) is refused while this one holds it. The
	// job is read again, since its holder may have checkpointed since.
	if err := r.Store.ClaimReconciliation(ctx, id, r.runner(), r.now(), r.leaseUntil()); err != nil {
		return nil, err
	}
	if job, err = r.Store.Reconciliation(ctx, id); err != nil {
		return nil, err
	}
	defer func() {
		if job.Status == cancuoc.ReconRunning {
			// Stopped (cancelled, or failed before any status could be
			// stored): end the lease so the job can be resumed at once.
			_ = r.Store.CheckpointLeased(context.WithoutCancel(ctx), job, r.runner(), job.Offset, job.ReportSize, time.Time{})
		}
	}()
	if same, err := r.inputUnchanged(job.Input, job.InputHash); err != nil {
		return nil, err
	} else if !same {
		return nil, cancuoc.E(cancuoc.Conflict, op, "reconcile_input_changed",
			"Tệp đầu vào đã thay đổi từ khi bắt đầu đối soát; hãy tạo phiên mới.",
			"The input file changed since the job started; start a new job.")
	}
	err = r.run(ctx, job)
	if err != nil && ctx.Err() == nil {
		// A failure other than cancellation is recorded, so the status
		// says why; the checkpoint stays valid and Run may be retried.
		if isLeaseLost(err) {
			return job, err // another runner holds the job now: leave it to them
		}
		failed := *job
		failed.Status, failed.Error, failed.UpdatedAt = cancuoc.ReconFailed, errText(err), r.now()
		if cerr := r.Store.CheckpointLeased(context.WithoutCancel(ctx), &failed, r.runner(), job.Offset, job.ReportSize, time.Time{}); cerr == nil {
			*job = failed
		}
	}
	return job, err
}

func (r *Runner) run(ctx context.Context, job *cancuoc.Reconciliation) error {
	in, err := os.Open(job.Input)
	if err != nil {
		return cancuoc.WithOp("reconcile.Run", err)
	}
	defer in.Close()
	rd, err := r.openReader(in, job)
	if err != nil {
		return err
	}
	rep, err := os.OpenFile(job.Report, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return cancuoc.WithOp("reconcile.Run", err)
	}
	defer rep.Close()
	// Whatever was written after the last checkpoint belongs to a chunk
	// that did not commit: drop it, that chunk is redone.
	if err := rep.Truncate(job.ReportSize); err != nil {
		return cancuoc.WithOp("reconcile.Run", err)
	}
	if _, err := rep.Seek(job.ReportSize, io.SeekStart); err != nil {
		return cancuoc.WithOp("reconcile.Run", err)
	}
	enc := newEncoder(job.ReportFmt)
	if job.ReportSize == 0 {
		enc.header()
	}
	cols := map[string]bool{}
	for _, c := range rd.Columns() {
		cols[c] = true
	}
	m := &Matcher{Store: r.Store, Reveal: map[string]bool{}, Cards: cols[ColCardNumber]}
	for _, f := range job.Reveal {
		m.Reveal[f] = true
	}
	hasID := cols[ColRecordID]
	// The duplicate keys live in memory for the job's run; a resumed job
	// reads those before its checkpoint again from the input.
	seen, err := r.rebuildSeen(ctx, job, hasID, r.seenKeys())
	if err != nil {
		return err
	}
	chunk := r.Chunk
	if chunk <= 0 {
		chunk = DefaultChunk
	}
	var done int64
	for _, n := range job.Counts {
		done += n
	}
	done -= job.Counts["duplicate"]
	// A pipeline: one goroutine reads the input's chunks in order, several
	// workers parse and match them at once (the lookups are in memory or
	// in the database), and this goroutine commits them in input order.
	// At most inFlight(workers) chunks are in flight, so memory stays flat
	// however large the input. A failure anywhere stops everything.
	workers := r.workers()
	pctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	tokens := make(chan struct{}, inFlight(workers))
	// The registry's index loads (or is scanned) beside the first chunks'
	// reading and parsing, which do not need it: only matching waits for
	// it. Otherwise the load is a stretch where one goroutine works and
	// the other cores wait. srcReady is closed once m.Source is set (or
	// srcErr), which orders the workers' reads of m.Source after the write.
	srcReady := make(chan struct{})
	var srcErr error
	raws := make(chan *prepared)
	ready := make(chan *prepared, workers+1)
	errc := make(chan error, workers+1)
	fail := func(err error) {
		select {
		case errc <- err:
		default:
		}
		stop()
	}
	defer func() {
		// The workers must be done with the store before Run returns.
		stop()
		wg.Wait()
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(raws)
		for seq := int64(0); ; seq++ {
			select {
			case tokens <- struct{}{}:
			case <-pctx.Done():
				return
			}
			p, err := r.read(rd, chunk)
			if err != nil {
				fail(err)
				return
			}
			if p == nil {
				return
			}
			p.seq = seq
			select {
			case raws <- p:
			case <-pctx.Done():
				return
			}
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(srcReady)
		if m.Source, srcErr = r.source(pctx, job); srcErr != nil {
			fail(srcErr)
		}
	}()
	var wwg sync.WaitGroup
	for range workers {
		wg.Add(1)
		wwg.Add(1)
		go func() {
			defer wg.Done()
			defer wwg.Done()
			for p := range raws {
				r.parse(p, hasID)
				select {
				case <-srcReady:
				case <-pctx.Done():
					return
				}
				if srcErr != nil {
					return
				}
				if err := r.match(pctx, m, p); err != nil {
					fail(err)
					return
				}
				select {
				case ready <- p:
				case <-pctx.Done():
					return
				}
			}
		}()
	}
	go func() { wwg.Wait(); close(ready) }()
	pending := map[int64]*prepared{}
	next := int64(0)
	for p := range ready {
		pending[p.seq] = p
		for q := pending[next]; q != nil; q = pending[next] {
			delete(pending, next)
			next++
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := r.commit(ctx, job, enc, rep, q, hasID, seen); err != nil {
				return err
			}
			<-tokens
			done += int64(len(q.out))
			if r.Progress != nil {
				r.Progress(done, job.Offset)
			}
		}
	}
	select {
	case err := <-errc:
		return err
	default:
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(pending) > 0 {
		return cancuoc.WithOp("reconcile.Run", fmt.Errorf("%d chunks were matched but not committed", len(pending)))
	}
	prev := *job
	job.Status, job.Error, job.UpdatedAt = cancuoc.ReconDone, "", r.now()
	if len(enc.buf.Bytes()) > 0 { // a CSV header of an empty input
		if err := r.writeReport(rep, enc, job); err != nil {
			*job = prev
			return err
		}
	}
	if err := r.Store.CheckpointLeased(ctx, job, r.runner(), prev.Offset, prev.ReportSize, time.Time{}); err != nil {
		*job = prev
		return err
	}
	return nil
}

func (r *Runner) openReader(in *os.File, job *cancuoc.Reconciliation) (Reader, error) {
	if job.Format == FormatJSONL {
		if _, err := in.Seek(job.Offset, io.SeekStart); err != nil {
			return nil, err
		}
		return NewJSONLReader(in, job.Offset, job.Line), nil
	}
	if job.Offset == 0 {
		return NewCSVReader(in)
	}
	head, err := os.Open(job.Input)
	if err != nil {
		return nil, err
	}
	defer head.Close()
	if _, err := in.Seek(job.Offset, io.SeekStart); err != nil {
		return nil, err
	}
	return ResumeCSVReader(head, in, job.Offset, job.Line)
}

// prepared is a chunk read, parsed and matched, waiting to be committed.
type prepared struct {
	seq          int64 // the chunk's place in the input
	recs         []Record
	ins          []*Input
	out          []Result
	keys         []cancuoc.SeenKey
	offset, line int64 // the checkpoint after the chunk
	now          time.Time
}

// read reads the next chunk's records (nil at the end of the input).
func (r *Runner) read(rd Reader, chunk int) (*prepared, error) {
	t0 := time.Now()
	recs := make([]Record, 0, chunk)
	for len(recs) < chunk {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, cancuoc.WithOp("reconcile.Run", err)
		}
		recs = append(recs, *rec)
	}
	if r.Phases != nil {
		r.Phases.add(time.Since(t0), 0, 0)
	}
	if len(recs) == 0 {
		return nil, nil
	}
	return &prepared{recs: recs, offset: rd.Offset(), line: rd.Line(), now: r.now()}, nil
}

// inFlight is how many chunks a job's pipeline holds at most: one being
// read, one per worker, one being committed, and two more queued between
// them, so that a stage's pause (the commit's syncs, the index load at the
// start) does not stop the others at once, as workers+1 did. Each chunk is
// some 50 MB at the default size (its lines, parsed inputs and results),
// so depth is memory: the bound keeps it flat whatever the input's size.
func inFlight(workers int) int { return workers + 4 }

// parse parses a chunk's records, ready to be matched: the malformed ones
// get their result now.
func (r *Runner) parse(p *prepared, hasID bool) {
	t0 := time.Now()
	recs := p.recs
	p.ins, p.out = make([]*Input, len(recs)), make([]Result, len(recs))
	for i := range recs {
		rec := &recs[i]
		if rec.Malformed != "" {
			p.out[i] = Result{Line: rec.Line, RecordID: strings.TrimSpace(rec.Fields[0]), Outcome: Malformed, Reason: rec.Malformed}
			continue
		}
		in, reason := Parse(rec, p.now.Year())
		if reason != "" {
			p.out[i] = Result{Line: rec.Line, RecordID: strings.TrimSpace(rec.Fields[0]), Outcome: Malformed, Reason: reason}
			continue
		}
		p.ins[i] = in
		p.keys = recordKeys(p.keys, rec, in, hasID)
	}
	p.recs = nil
	if r.Phases != nil {
		d := time.Since(t0)
		r.Phases.add(0, d, 0)
		r.Phases.addParse(d)
	}
}

// match matches a parsed chunk's records.
func (r *Runner) match(ctx context.Context, m *Matcher, p *prepared) error {
	t0 := time.Now()
	if err := m.Match(ctx, p.ins, p.out); err != nil {
		return err
	}
	if r.Phases != nil {
		r.Phases.add(0, time.Since(t0), 0)
	}
	return nil
}

// commit writes a prepared chunk: the duplicates are marked (in memory),
// the report lines written and synced, the chunk's touched block and its
// one access-log entry appended and the checkpoint moved, in one
// transaction. If anything fails the transaction rolls back, the report
// bytes written are dropped at the next Run, and Run stops (the duplicate
// keys added are rebuilt from the input by the next Run).
func (r *Runner) commit(ctx context.Context, job *cancuoc.Reconciliation, enc *encoder, rep *os.File, p *prepared, hasID bool, seen *seenSet) error {
	t0 := time.Now()
	if r.Phases != nil {
		defer func() { r.Phases.add(0, 0, time.Since(t0)) }()
	}
	prev := *job
	// The lines with a key seen before (maybe a duplicate): only they are
	// looked up again, by dupOf, for the line they repeat.
	var (
		dups  map[int64]bool
		spill []cancuoc.SeenKey
	)
	seen.spilled = nil
	if p.seq == 0 {
		seen.reserve(expectedKeys(job, p, seen.n))
	}
	for _, k := range p.keys {
		first, err := seen.add(k.Hash, k.Line)
		if err != nil {
			return err
		}
		if first == 0 { // memory is full and the key is not in it
			spill = append(spill, k)
			continue
		}
		if first != k.Line {
			if dups == nil {
				dups = map[int64]bool{}
			}
			dups[k.Line] = true
		}
	}
	if len(spill) > 0 {
		// Keys past the memory bound are recorded in the store, in their
		// own transaction: a chunk redone after a crash finds its own keys
		// there at the same lines, which are not duplicates.
		found, err := r.Store.MarkSeen(ctx, job.ID, spill)
		if err != nil {
			return cancuoc.WithOp("reconcile.Run", err)
		}
		seen.spilled = make(map[int64]int64, len(found))
		for _, d := range found {
			if l, ok := seen.spilled[d.Hash]; !ok || d.Line < l {
				seen.spilled[d.Hash] = d.Line
			}
		}
		for _, k := range spill {
			if l, ok := seen.spilled[k.Hash]; ok && l != k.Line {
				if dups == nil {
					dups = map[int64]bool{}
				}
				dups[k.Line] = true
			}
		}
	}
	counts := make(map[string]int64, len(job.Counts)+2)
	for k, v := range job.Counts {
		counts[k] = v
	}
	var (
		pins   []cancuoc.PIN
		fields = map[string]bool{}
	)
	for i := range p.out {
		res := &p.out[i]
		if in := p.ins[i]; in != nil && dups[in.Line] {
			res.DuplicateOf = dupOf(seen, in, hasID)
		}
		if res.DuplicateOf != 0 {
			counts["duplicate"]++
		}
		counts[res.Outcome]++
		if err := enc.encode(res); err != nil {
			enc.buf.Reset()
			return err
		}
		if t := touched(res); len(t) > 0 {
			pins = append(pins, t...)
			for _, f := range res.fields {
				fields[f] = true
			}
		}
	}
	// The chunk's access-log entry: one chained entry naming the block of
	// the citizens it touched (cancuoc.TouchedBlock). The chunk is named
	// by the input line it starts after, the same when it is redone.
	var (
		block *cancuoc.TouchedBlock
		entry *cancuoc.AuditEntry
	)
	if len(pins) > 0 {
		block = cancuoc.NewTouchedBlock(job.ID, prev.Line, pins)
		entry = &cancuoc.AuditEntry{At: p.now, Actor: job.Owner, Action: ActionReconcile, Fields: fieldList(fields),
			Purpose: "reconciliation " + job.ID, Outcome: block.Outcome()}
	}
	err := r.Store.InTx(ctx, func(tx cancuoc.Tx) error {
		// Renew the lease first: refused if another runner took the job
		// over, before a byte of the report is written; the row stays
		// locked to the commit.
		if err := tx.ClaimReconciliation(ctx, job.ID, r.runner(), r.now(), r.leaseUntil()); err != nil {
			return err
		}
		job.Counts, job.Offset, job.Line, job.UpdatedAt = counts, p.offset, p.line, p.now
		if err := r.writeReport(rep, enc, job); err != nil {
			return err
		}
		if block != nil {
			if err := tx.AppendTouched(ctx, block); err != nil {
				return err
			}
			// The access log last, after the report's sync.
			if err := tx.AppendAudit(ctx, entry); err != nil {
				return err
			}
		}
		// Compare-and-set on the checkpoint this chunk started from.
		return tx.CheckpointLeased(ctx, job, r.runner(), prev.Offset, prev.ReportSize, r.leaseUntil())
	})
	if err != nil {
		// Not committed: the job is still at its previous checkpoint, and
		// lines encoded but not written are dropped.
		*job = prev
		enc.buf.Reset()
	}
	return err
}

// expectedKeys estimates the duplicate keys a run will have read by its
// end from its first chunk (the keys, records and bytes of the chunk, the
// input left after it) and the n keys already in the set (a resumed job's).
// An estimate only sizes the set's table: a wrong one costs memory or a
// doubling later, never a key.
func expectedKeys(job *cancuoc.Reconciliation, p *prepared, n int) int {
	bytes := p.offset - job.Offset
	if bytes <= 0 || len(p.keys) == 0 {
		return n
	}
	left := max(job.InputSize-p.offset, 0)
	return n + len(p.keys) + int(float64(left)/float64(bytes)*float64(len(p.keys))*1.05)
}

// fieldList lists the compared fields in a stable order.
func fieldList(set map[string]bool) []string {
	var out []string
	for _, f := range []string{"full_name", "birth_date", "sex", "address", "card_number"} {
		if set[f] {
			out = append(out, f)
			delete(set, f)
		}
	}
	rest := make([]string, 0, len(set))
	for f := range set {
		rest = append(rest, f)
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// isLeaseLost tells whether err is a lost lease or a refused claim.
func isLeaseLost(err error) bool {
	var e *cancuoc.Error
	return errors.As(err, &e) && (e.Code == "reconciliation_lease_lost" || e.Code == "reconciliation_leased")
}

// writeReport appends the encoded lines to the report, syncs it and moves
// job.ReportSize past them.
func (r *Runner) writeReport(rep *os.File, enc *encoder, job *cancuoc.Reconciliation) error {
	n, err := rep.Write(enc.buf.Bytes())
	enc.buf.Reset()
	if err != nil {
		return cancuoc.WithOp("reconcile.report", err)
	}
	if err := rep.Sync(); err != nil {
		return cancuoc.WithOp("reconcile.report", err)
	}
	job.ReportSize += int64(n)
	return nil
}

// dupOf returns the line where a record's ID or PIN was first seen, when
// that is another line.
func dupOf(seen *seenSet, in *Input, hasID bool) int64 {
	var keys []int64
	if hasID && !strings.HasPrefix(in.ID, "line ") {
		keys = append(keys, keyHash("id", in.ID))
	}
	if in.PIN != "" {
		keys = append(keys, keyHash("pin", string(in.PIN)))
	}
	for _, k := range keys {
		if l := seen.first(k); l != 0 && l != in.Line {
			return l
		}
	}
	return 0
}

// keyHash is the 64-bit FNV-1a hash of a kind and a value: what the store
// keeps of the keys a job has read.
func keyHash(kind, v string) int64 {
	h := fnv.New64a()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(v))
	return int64(h.Sum64())
}

// touched lists the citizens a result concerns: the one compared, or the
// candidates named.
func touched(r *Result) []cancuoc.PIN {
	switch r.Outcome {
	case Matched, MatchedDiff, Deceased, MissingPerson:
		return []cancuoc.PIN{r.PIN}
	case CandidateFound, Ambiguous:
		out := make([]cancuoc.PIN, len(r.Candidates))
		for i, c := range r.Candidates {
			out[i] = c.PIN
		}
		return out
	}
	return nil
}

// Summary is a job's result in one sentence and a table, like the seeds'
// "35.1 of 36.2 million driver licences reconciled".
func Summary(job *cancuoc.Reconciliation) string {
	var total int64
	for _, o := range Outcomes {
		total += job.Counts[o]
	}
	matched := job.Counts[Matched] + job.Counts[MatchedDiff] + job.Counts[CandidateFound]
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%s matched (%.1f%%)", human(matched), human(total), pct(matched, total))
	if total == 0 {
		return b.String() + "\n"
	}
	b.WriteString("\n")
	for _, o := range Outcomes {
		if n := job.Counts[o]; n > 0 {
			fmt.Fprintf(&b, "  %-26s %12d  %5.1f%%\n", o, n, pct(n, total))
		}
	}
	if n := job.Counts["duplicate"]; n > 0 {
		fmt.Fprintf(&b, "  %-26s %12d  %5.1f%%  (flagged; also counted above)\n", "duplicate", n, pct(n, total))
	}
	return b.String()
}

func pct(n, total int64) float64 {
	if total == 0 {
		return 0
	}
	return 100 * float64(n) / float64(total)
}

// human writes a count the way the seeds do: 35.1 million, 950 thousand.
func human(n int64) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%.1f million", float64(n)/1e6)
	case n >= 10_000:
		return fmt.Sprintf("%.1f thousand", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
