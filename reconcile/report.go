package reconcile

import (
	"bytes"
	"encoding/csv"
	"github.com/cancuoc/cancuoc/internal/json"
	"sort"
	"strconv"
	"strings"
)

// Report formats.
const (
	FormatCSV   = "csv"
	FormatJSONL = "jsonl"
)

// reportHeader is the first line of a CSV report.
var reportHeader = []string{"line", "record_id", "outcome", "pin", "differences", "registry", "candidates",
	"ambiguous", "life_status", "duplicate_of_line", "reason"}

// encoder appends report lines to a buffer.
type encoder struct {
	format string
	buf    bytes.Buffer
	cw     *csv.Writer
	row    []string
}

func newEncoder(format string) *encoder {
	e := &encoder{format: format}
	e.cw = csv.NewWriter(&e.buf)
	return e
}

// header writes the CSV header (nothing for JSON Lines).
func (e *encoder) header() {
	if e.format == FormatCSV {
		_ = e.cw.Write(reportHeader)
		e.cw.Flush()
	}
}

// encode appends one result.
func (e *encoder) encode(r *Result) error {
	if e.format == FormatJSONL {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		e.buf.Write(b)
		e.buf.WriteByte('\n')
		return nil
	}
	var cands []string
	for _, c := range r.Candidates {
		cands = append(cands, string(c.PIN)+":"+strconv.FormatFloat(c.Score, 'f', 3, 64))
	}
	var reg []string
	for k, v := range r.Registry {
		reg = append(reg, k+"="+v)
	}
	sort.Strings(reg)
	dup := ""
	if r.DuplicateOf != 0 {
		dup = strconv.FormatInt(r.DuplicateOf, 10)
	}
	amb := ""
	if r.Ambiguous {
		amb = "true"
	}
	e.row = append(e.row[:0], strconv.FormatInt(r.Line, 10), safeCell(r.RecordID), r.Outcome, string(r.PIN),
		strings.Join(r.Differences, ";"), strings.Join(reg, ";"), strings.Join(cands, ";"), amb, r.LifeStatus, dup, r.Reason)
	if err := e.cw.Write(e.row); err != nil {
		return err
	}
	e.cw.Flush()
	return e.cw.Error()
}

// safeCell keeps a partner's record ID from being read as a formula by a
// spreadsheet that opens the report (CSV injection).
func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
