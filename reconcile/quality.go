package reconcile

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"github.com/cancuoc/cancuoc/internal/json"
	"io"
	"strconv"
	"strings"

	"github.com/cancuoc/cancuoc"
)

// Quality is how a report compares with the truth of a synthetic data set.
// Precision and recall are those of the no-PIN mode: a record is predicted
// when its outcome is candidate_found; it is correct when the PIN found is
// the true one. Every line counts, duplicates included.
type Quality struct {
	NoPIN       int64 // records without a PIN
	InRegistry  int64 // of those, people the registry holds
	Predicted   int64 // of those, records with a candidate found
	Correct     int64 // of those, the true person
	Ambiguous   int64 // records left ambiguous
	PINRecords  int64 // records with a PIN
	PINCorrect  int64 // of those, an outcome consistent with the truth
	Unevaluated int64 // lines whose record ID the truth does not know
}

// Precision is Correct / Predicted (1 when nothing was predicted).
func (q Quality) Precision() float64 {
	if q.Predicted == 0 {
		return 1
	}
	return float64(q.Correct) / float64(q.Predicted)
}

// Recall is Correct / InRegistry (1 when nobody was to be found).
func (q Quality) Recall() float64 {
	if q.InRegistry == 0 {
		return 1
	}
	return float64(q.Correct) / float64(q.InRegistry)
}

func (q Quality) String() string {
	return fmt.Sprintf("no-PIN mode: precision %.2f%% (%d of %d found are right), recall %.2f%% (%d of %d registry people found), %d ambiguous; with PIN: %d of %d consistent with the truth",
		100*q.Precision(), q.Correct, q.Predicted, 100*q.Recall(), q.Correct, q.InRegistry, q.Ambiguous, q.PINCorrect, q.PINRecords)
}

type truthRow struct {
	pin        string
	inRegistry bool
	noise      string
}

// Evaluate compares a report (CSV or JSON Lines) with a truth file written
// by Dataset, and the data set itself (to know which records carried a
// PIN). It holds the truth in memory: it is a test tool for data sets of
// test size.
func Evaluate(report io.Reader, reportFmt string, dataset, truth io.Reader) (Quality, error) {
	var q Quality
	tr := csv.NewReader(truth)
	if _, err := tr.Read(); err != nil {
		return q, fmt.Errorf("truth: %w", err)
	}
	// At national sizes (ten million records and more) the truth and the
	// data set are held as two maps: fields are copied out of each CSV
	// line, which would otherwise stay pinned in memory whole.
	tr.ReuseRecord = true
	known := map[string]truthRow{}
	for {
		row, err := tr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return q, fmt.Errorf("truth: %w", err)
		}
		known[strings.Clone(row[0])] = truthRow{pin: strings.Clone(row[1]), inRegistry: row[2] == "true", noise: strings.Clone(row[3])}
	}
	sent := map[string]string{} // record ID → PIN sent
	dr := csv.NewReader(dataset)
	dr.ReuseRecord = true
	if _, err := dr.Read(); err != nil {
		return q, fmt.Errorf("data set: %w", err)
	}
	for {
		row, err := dr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return q, fmt.Errorf("data set: %w", err)
		}
		sent[strings.Clone(row[0])] = strings.Clone(row[1])
	}
	err := eachResult(report, reportFmt, func(r *Result) {
		t, ok := known[r.RecordID]
		if !ok {
			q.Unevaluated++
			return
		}
		if pin := sent[r.RecordID]; pin != "" {
			q.PINRecords++
			if pinConsistent(r, t, pin) {
				q.PINCorrect++
			}
			return
		}
		q.NoPIN++
		if t.inRegistry {
			q.InRegistry++
		}
		switch r.Outcome {
		case CandidateFound:
			q.Predicted++
			if string(r.PIN) == t.pin && t.inRegistry {
				q.Correct++
			}
		case Ambiguous:
			q.Ambiguous++
		}
	})
	return q, err
}

// pinConsistent checks the outcome of a record sent with a PIN: a wrong PIN
// is unknown or someone else (differences); a dead or missing person is
// reported so; the rest match.
func pinConsistent(r *Result, t truthRow, sent string) bool {
	switch {
	case sent != t.pin:
		return r.Outcome == PINUnknown || r.Outcome == MatchedDiff || r.Outcome == Deceased || r.Outcome == MissingPerson
	case strings.Contains(t.noise, "dead"):
		return r.Outcome == Deceased
	case strings.Contains(t.noise, "missing"):
		return r.Outcome == MissingPerson
	}
	return r.Outcome == Matched || r.Outcome == MatchedDiff
}

// eachResult reads a report's lines.
func eachResult(report io.Reader, format string, fn func(*Result)) error {
	if format == FormatJSONL {
		sc := bufio.NewScanner(report)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var r Result
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				return fmt.Errorf("report: %w", err)
			}
			fn(&r)
		}
		return sc.Err()
	}
	cr := csv.NewReader(report)
	if _, err := cr.Read(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		r := Result{RecordID: strings.TrimPrefix(row[1], "'"), Outcome: row[2]}
		r.Line, _ = strconv.ParseInt(row[0], 10, 64)
		r.PIN = pinOf(row[3])
		fn(&r)
	}
}

func pinOf(s string) cancuoc.PIN { return cancuoc.PIN(s) }
