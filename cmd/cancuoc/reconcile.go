package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/progress"
	"github.com/cancuoc/cancuoc/reconcile"
	"github.com/cancuoc/cancuoc/synth"
)

const reconcileUsage = `usage: cancuoc reconcile FILE [--report OUT] [--reveal FIELDS] [--truth FILE] [--database …]
       cancuoc reconcile --resume JOB [--database …]

Matches a partner's records (CSV with a header, or JSON Lines; columns
record_id, pin, full_name, birth_date, sex, address, card_number, any subset)
against the registry and writes a report with one line per record. A job
interrupted (Ctrl-C, a crash) is resumed with --resume and the job ID it printed.
`

// cmdReconcile runs a reconciliation job from the console. The operator is
// the actor in the access log ("console"); which registry values the report
// may show is the operator's choice (--reveal), nothing by default.
func cmdReconcile(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), reconcileUsage); fs.PrintDefaults() }
	c, validate := bindConfig(fs, getenv)
	report := fs.String("report", "", "report file (.csv or .jsonl); default FILE-report.csv beside the input")
	resume := fs.String("resume", "", "resume the job with this ID from its last checkpoint")
	sweep := fs.Bool("sweep", false, "apply the retention rules to the API's jobs in DATA_DIR/reconciliations now (delete done jobs' uploads and reports older than --reconcile-keep) and exit")
	reveal := fs.String("reveal", "", "comma-separated fields whose registry value the report shows when they differ: "+strings.Join(reconcile.Revealable, ","))
	format := fs.String("format", "", "input format, csv or jsonl (default: from the file name)")
	truth := fs.String("truth", "", "truth file of a synthetic data set (cancuoc seed --partner-dataset): print precision and recall")
	chunk := fs.Int("chunk", reconcile.DefaultChunk, "records matched and checkpointed together")
	index := fs.String("index", "auto", "match against an in-memory index of the registry built by one scan: auto (for inputs of 10 MB or more), on or off")
	indexFile := fs.String("index-file", "auto", "keep the in-memory index between jobs in this file (it copies personal data: keep it as safe as the database), brought up to date from the registry's events when a job starts; auto: DATA_DIR/reconcile-index-….idx, off: scan the registry for every job")
	indexMaxAge := fs.Duration("index-max-age", reconcile.DefaultIndexMaxAge, "rebuild the index file by a scan when it is older than this")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile (pprof) of the run to this file")
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if file == "" && fs.NArg() > 0 {
		file = fs.Arg(0)
	}
	if err := validate(); err != nil {
		return err
	}
	if *sweep {
		return sweepReconciliations(ctx, c, stdout)
	}
	if (file == "") == (*resume == "") {
		fmt.Fprint(stdout, reconcileUsage)
		return fmt.Errorf("give an input FILE or --resume JOB (not both)")
	}
	var fields []string
	if *reveal != "" {
		fields = strings.Split(*reveal, ",")
	}
	policy, err := reconcile.ParseReveal(fields)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer a.Close()
	r := &reconcile.Runner{Store: a.store, Policy: policy, Chunk: *chunk, Phases: &reconcile.Phases{}}
	switch *index {
	case "auto":
	case "on":
		r.IndexFrom = 1
	case "off":
		r.IndexFrom = -1
	default:
		return fmt.Errorf("--index must be auto, on or off, not %q", *index)
	}
	if r.IndexFile, err = indexFileOf(*indexFile, c); err != nil {
		return err
	}
	if r.IndexFile != nil {
		r.IndexFile.MaxAge = *indexMaxAge
	}
	r.OnIndex = func(ix *reconcile.Index) {
		fmt.Fprintf(stdout, "registry as of %s (%d people): changes committed later are not seen by this run\n",
			ix.At.UTC().Format(time.RFC3339Nano), ix.Len())
		if ix.Origin != "" {
			fmt.Fprintln(stdout, "index:", ix.Origin)
		}
	}
	if *cpuprofile != "" {
		stop, err := startCPUProfile(*cpuprofile)
		if err != nil {
			return err
		}
		defer stop()
	}
	var job *cancuoc.Reconciliation
	if *resume != "" {
		if job, err = a.store.Reconciliation(ctx, *resume); err != nil {
			return err
		}
	} else {
		out := *report
		if out == "" {
			out = strings.TrimSuffix(file, filepath.Ext(file)) + "-report.csv"
		}
		if job, err = r.Create(ctx, reconcile.Spec{Owner: "console", Input: file, Report: out, Format: *format}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "job %s: %s → %s (resume with: cancuoc reconcile --resume %s)\n", job.ID, job.Input, job.Report, job.ID)
	}
	if job.Status == cancuoc.ReconDone {
		fmt.Fprintf(stdout, "%s is done; report: %s\n%s", job.ID, job.Report, reconcile.Summary(job))
		return nil
	}
	total, err := countRecords(job.Input, job.Format)
	if err != nil {
		return err
	}
	var done int64
	for _, o := range reconcile.Outcomes {
		done += job.Counts[o]
	}
	// A resumed job's bar counts what is left, so its rate is this run's.
	bar := progress.New(os.Stderr, "reconcile", max(total-done, 1))
	r.Progress = func(records, _ int64) { bar.Add(records - done); done = records }
	start := time.Now()
	job, err = r.Run(ctx, job.ID)
	bar.Finish()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("interrupted at line %d; resume with: cancuoc reconcile --resume %s", job.Line, job.ID)
		}
		return err
	}
	fmt.Fprintf(stdout, "%s in %s (%.0f records/s); report: %s\n", job.ID, time.Since(start).Round(time.Millisecond),
		bar.Rate(), job.Report)
	fmt.Fprint(stdout, reconcile.Summary(job))
	fmt.Fprintln(stdout, "time:", r.Phases)
	fmt.Fprintf(stdout, "memory: peak RSS %d MiB\n", peakRSS()>>20)
	if *truth != "" {
		q, err := evaluateFiles(job, *truth)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, q)
	}
	return nil
}

// indexFileOf is the --index-file flag's file: its path (auto: in the
// data directory, named by the registry) and the key naming the registry.
func indexFileOf(flag string, c *Config) (*reconcile.IndexFile, error) {
	key := registryKey(c.Database)
	switch flag {
	case "off":
		return nil, nil
	case "auto":
		if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
			return nil, err
		}
		sum := sha256.Sum256([]byte(key))
		flag = filepath.Join(c.DataDir, "reconcile-index-"+hex.EncodeToString(sum[:6])+".idx")
	}
	return &reconcile.IndexFile{Path: flag, Key: key}, nil
}

// registryKey names the registry a database setting points at: for
// PostgreSQL its user, host, database and search_path (not the password,
// nor settings like application_name that do not change which tables are
// read); for SQLite the file's absolute path.
func registryKey(database string) string {
	u, err := url.Parse(database)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		if abs, err := filepath.Abs(database); err == nil {
			return "sqlite:" + abs
		}
		return "sqlite:" + database
	}
	k := url.URL{Scheme: "postgres", Host: u.Host, Path: u.Path}
	if u.User != nil {
		k.User = url.User(u.User.Username())
	}
	if sp := u.Query().Get("search_path"); sp != "" {
		k.RawQuery = url.Values{"search_path": {sp}}.Encode()
	}
	return k.String()
}

// countRecords counts the lines of the input for the progress bar (less the
// header for CSV); quoted line breaks make it an estimate.
func countRecords(path, format string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var n int64
	br := bufio.NewReaderSize(f, 1<<20)
	buf := make([]byte, 1<<20)
	for {
		k, err := br.Read(buf)
		n += int64(bytes.Count(buf[:k], []byte{'\n'}))
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	if format == reconcile.FormatCSV {
		n--
	}
	return max(n, 1), nil
}

func evaluateFiles(job *cancuoc.Reconciliation, truth string) (reconcile.Quality, error) {
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, p := range []string{job.Report, job.Input, truth} {
		f, err := os.Open(p)
		if err != nil {
			return reconcile.Quality{}, err
		}
		files = append(files, f)
	}
	return reconcile.Evaluate(files[0], job.ReportFmt, files[1], files[2])
}

// partnerDataset is the seed's optional partner data set with known truth.
type partnerDataset struct {
	path     *string
	n        *int
	pinShare *float64
	ds       *reconcile.Dataset
	files    []*os.File
}

func bindPartnerDataset(fs *flag.FlagSet) *partnerDataset {
	return &partnerDataset{
		path:     fs.String("partner-dataset", "", "also write a partner data set drawn from the seeded people, with noise, to this CSV file (and its truth beside it, FILE-truth.csv)"),
		n:        fs.Int("partner-n", 10000, "about how many records the partner data set has"),
		pinShare: fs.Float64("partner-pin-share", 0.5, "share of partner records that carry a PIN (0: all matched by name)"),
	}
}

// start opens the files; batch is then called with each seeded batch.
func (p *partnerDataset) start(population int, seed int64) error {
	if *p.path == "" {
		return nil
	}
	if *p.n < 1 || *p.pinShare < 0 || *p.pinShare > 1 || math.IsNaN(*p.pinShare) {
		return fmt.Errorf("--partner-n must be at least 1 and --partner-pin-share between 0 and 1")
	}
	for _, path := range []string{*p.path, p.truthPath()} {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		p.files = append(p.files, f)
	}
	var err error
	p.ds, err = reconcile.NewDataset(reconcile.DatasetConfig{Records: *p.n, Population: population, Seed: seed,
		PINShare: *p.pinShare}, p.files[0], p.files[1])
	return err
}

func (p *partnerDataset) truthPath() string {
	return strings.TrimSuffix(*p.path, filepath.Ext(*p.path)) + "-truth.csv"
}

func (p *partnerDataset) batch(b []*cancuoc.Citizen) error {
	if p.ds == nil {
		return nil
	}
	return p.ds.Add(b)
}

// finish mixes in people who are not in the registry (another seed) and
// closes the files.
func (p *partnerDataset) finish(ctx context.Context, seed int64, stdout io.Writer) error {
	if p.ds == nil {
		return nil
	}
	err := synth.Generate(ctx, synth.Config{Citizens: max(*p.n/10, 10), Seed: seed + 1_000_003, Now: time.Now()},
		p.ds.AddOutsiders)
	if err == nil {
		err = p.ds.Close()
	}
	for _, f := range p.files {
		if e := f.Close(); err == nil {
			err = e
		}
	}
	if err == nil {
		fmt.Fprintf(stdout, "partner data set: %s (truth: %s)\n", *p.path, p.truthPath())
	}
	return err
}

// maxUpload bounds a data set sent to the API: about 20 million records of
// a partner's CSV. Larger sets are split into several jobs.
const maxUpload = 4 << 30

// startReconcile wires the API's reconciliation jobs: uploads and reports
// live in DATA_DIR/reconciliations; at most two jobs run at once; they stop
// at a checkpoint when the server stops and resume when it starts again
// (or with cancuoc reconcile --resume ID, which keeps the job's owner as
// the actor in the access log). Partners' systems run jobs as their
// policies allow, and their reports show the registry values of the fields
// their policies name; ministries' API keys see none.
func (a *app) startReconcile(ctx context.Context, c *Config, log *slog.Logger) error {
	r := &reconcile.Runner{Store: a.store, Policy: reconcile.PartnerPolicy{Partners: a.verify, Fallback: reconcile.RevealList(nil)}}
	// Large jobs share the console's index file (DATA_DIR), brought up to
	// date from the registry's events when each starts.
	var err error
	if r.IndexFile, err = indexFileOf("auto", c); err != nil {
		return fmt.Errorf("reconciliation index file: %w", err)
	}
	svc, err := reconcile.NewService(ctx, r, filepath.Join(c.DataDir, "reconciliations"), maxUpload, 2, log)
	if err != nil {
		return fmt.Errorf("reconciliation directory: %w", err)
	}
	svc.WithPartners(a.verify)
	svc.WithRetention(c.ReconcileKeep)
	svc.SweepEvery(time.Hour)
	a.recon = svc
	if n, err := svc.Resume(ctx); err != nil {
		return err
	} else if n > 0 {
		log.Info("resumed reconciliation jobs left running", "jobs", n)
	}
	return nil
}

// sweepReconciliations is the operator's retention command: what the
// server's hourly sweep does, run once.
func sweepReconciliations(ctx context.Context, c *Config, stdout io.Writer) error {
	a, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer a.Close()
	svc, err := reconcile.NewService(ctx, &reconcile.Runner{Store: a.store}, filepath.Join(c.DataDir, "reconciliations"),
		maxUpload, 1, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer svc.Close()
	n, err := svc.WithRetention(c.ReconcileKeep).Sweep(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d reconciliation reports older than %s deleted\n", n, c.ReconcileKeep)
	return nil
}
