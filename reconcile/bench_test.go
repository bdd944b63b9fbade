package reconcile_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/reconcile"
)

// The benchmarks run on a registry of benchPeople synthetic people (SQLite,
// in memory, loaded once) and partner data sets drawn from it with the
// default noise: every record with its PIN, and the same kind of records
// without. Each reports ns and allocations per record; CPU per record is
// what the bulk goals (issue 4) are stated in, see bench/reconcile.sh.
const benchPeople = 20000

var bench struct {
	once        sync.Once
	ix          *reconcile.Index
	pinCSV      []byte
	noPINCSV    []byte
	pinJSONL    []byte
	noPINJSONL  []byte
	setupFailed error
}

func benchSetup(b *testing.B) {
	b.Helper()
	bench.once.Do(func() {
		st := openSQLite(b)
		dir, err := os.MkdirTemp("", "reconbench")
		if err != nil {
			bench.setupFailed = err
			return
		}
		defer os.RemoveAll(dir)
		data, _ := seeded(b, st, benchPeople, benchPeople, 1, dir)
		if bench.pinCSV, err = os.ReadFile(data); err != nil {
			bench.setupFailed = err
			return
		}
		bench.noPINCSV = stripPINs(b, bench.pinCSV)
		bench.pinJSONL, bench.noPINJSONL = toJSONL(b, bench.pinCSV), toJSONL(b, bench.noPINCSV)
		bench.ix, bench.setupFailed = reconcile.BuildIndex(b.Context(), st.(cancuoc.MatchScanner))
	})
	if bench.setupFailed != nil {
		b.Fatal(bench.setupFailed)
	}
}

// stripPINs empties the pin and card_number columns, as
// `reconbench strip-pins` does for the bench script.
func stripPINs(tb testing.TB, data []byte) []byte {
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	var out bytes.Buffer
	w := csv.NewWriter(&out)
	for i, r := range rows {
		if i > 0 {
			r[1], r[6] = "", ""
		}
		_ = w.Write(r)
	}
	w.Flush()
	return out.Bytes()
}

// toJSONL writes the CSV's rows as JSON Lines objects of string fields,
// omitting empty ones.
func toJSONL(tb testing.TB, data []byte) []byte {
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	var out bytes.Buffer
	for _, r := range rows[1:] {
		obj := map[string]string{}
		for i, v := range r {
			if v != "" {
				obj[rows[0][i]] = v
			}
		}
		line, _ := json.Marshal(obj)
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// readRecords reads every record of an input.
func readRecords(tb testing.TB, data []byte, jsonl bool) []reconcile.Record {
	rd := reader(tb, data, jsonl)
	var out []reconcile.Record
	for {
		r, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, *r)
	}
}

func reader(tb testing.TB, data []byte, jsonl bool) reconcile.Reader {
	if jsonl {
		return reconcile.NewJSONLReader(bytes.NewReader(data), 0, 0)
	}
	rd, err := reconcile.NewCSVReader(bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	return rd
}

// benchParse reads and interprets records (Reader.Next and Parse), one
// record an operation, starting over at the end of the input.
func benchParse(b *testing.B, data []byte, jsonl bool) {
	benchSetup(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)) / int64(benchPeople))
	rd := reader(b, data, jsonl)
	runtime.GC() // the setup's garbage is not the benchmark's
	b.ResetTimer()
	cpu := cpuTime()
	defer func() { reportCPU(b, cpu, b.N) }()
	for range b.N {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			b.StopTimer()
			rd = reader(b, data, jsonl)
			b.StartTimer()
			if rec, err = rd.Next(); err != nil {
				b.Fatal(err)
			}
		}
		if rec.Malformed == "" {
			reconcile.Parse(rec, 2026)
		}
	}
}

func BenchmarkParseCSV(b *testing.B)   { benchSetup(b); benchParse(b, bench.pinCSV, false) }
func BenchmarkParseJSONL(b *testing.B) { benchSetup(b); benchParse(b, bench.pinJSONL, true) }

// benchMatch parses and matches chunks of records against the in-memory
// index, as a job's worker does; an operation is one record.
func benchMatch(b *testing.B, data []byte) {
	benchSetup(b)
	recs := readRecords(b, data, false)
	const chunk = 1000
	m := &reconcile.Matcher{Source: bench.ix, Reveal: map[string]bool{"full_name": true}}
	b.ReportAllocs()
	runtime.GC() // the setup's garbage is not the benchmark's
	b.ResetTimer()
	cpu := cpuTime()
	done := 0
	for done < b.N {
		for start := 0; start < len(recs) && done < b.N; start += chunk {
			part := recs[start:min(start+chunk, len(recs))]
			ins := make([]*reconcile.Input, len(part))
			out := make([]reconcile.Result, len(part))
			for i := range part {
				if part[i].Malformed == "" {
					ins[i], _ = reconcile.Parse(&part[i], 2026)
				}
			}
			if err := m.Match(b.Context(), ins, out); err != nil {
				b.Fatal(err)
			}
			done += len(part)
		}
	}
	reportCPU(b, cpu, done)
}

// cpuTime is the process's CPU time (user and system, all threads: the
// garbage collector's work counts). On a shared machine it is the measure
// that does not depend on what else runs.
func cpuTime() time.Duration {

	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per record since start.
func reportCPU(b *testing.B, start time.Duration, records int) {
	b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(records), "cpu-ns/record")
}

func BenchmarkMatchPIN(b *testing.B)   { benchSetup(b); benchMatch(b, bench.pinCSV) }
func BenchmarkMatchNoPIN(b *testing.B) { benchSetup(b); benchMatch(b, bench.noPINCSV) }
