package reconcile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/cancuoc/cancuoc"
)

// Columns a partner's data set may have, in the order of the issue. Any
// subset will do; a record needs a PIN, or a name and a birth date.
const (
	ColRecordID   = "record_id"
	ColPIN        = "pin"
	ColFullName   = "full_name"
	ColBirthDate  = "birth_date"
	ColSex        = "sex"
	ColAddress    = "address"
	ColCardNumber = "card_number"
)

// Columns lists the known columns.
var Columns = []string{ColRecordID, ColPIN, ColFullName, ColBirthDate, ColSex, ColAddress, ColCardNumber}

// aliases are the Vietnamese (diacritic-free) header names that partners'
// exports commonly use, mapped to ours.
var aliases = map[string]string{
	"id": ColRecordID, "ma": ColRecordID, "ma_ho_so": ColRecordID,
	"so_dinh_danh": ColPIN, "so_dinh_danh_ca_nhan": ColPIN, "sddcn": ColPIN,
	"ho_ten": ColFullName, "ho_va_ten": ColFullName, "name": ColFullName,
	"ngay_sinh": ColBirthDate, "dob": ColBirthDate,
	"gioi_tinh": ColSex,
	"dia_chi":   ColAddress, "noi_thuong_tru": ColAddress,
	"so_the": ColCardNumber, "so_cccd": ColCardNumber, "so_cmnd": ColCardNumber,
}

// quickWindow is the first window a CSV record is scanned in (see
// csvReader.next); a variable so that tests can make it small.
var quickWindow = 4 << 10

// Limits that keep memory bounded whatever the input: a record larger than
// this is reported malformed and skipped, never buffered whole.
const (
	maxRecordBytes = 64 << 10
	maxFieldRunes  = 500
)

// Record is one raw record of the input: the text of each known column (as
// sent; fields are interpreted by Parse), where it was, and why it is
// malformed when it is.
type Record struct {
	Line      int64 // the input line where the record starts (1-based)
	Fields    [numCols]string
	Malformed string // non-empty: the reason the row cannot be read
}

const numCols = 7

func colIndex(name string) int {
	for i, c := range Columns {
		if c == name {
			return i
		}
	}
	return -1
}

// Get returns the text of a column.
func (r *Record) Get(col string) string { return r.Fields[colIndex(col)] }

// Reader streams records. Offset and Line after a record are where the
// next one starts, so a job can checkpoint there and resume by reopening the
// input at that offset.
type Reader interface {
	// Next returns the next record, or io.EOF at the end. A malformed row is
	// a record with Malformed set, not an error: errors are I/O failures.
	Next() (*Record, error)
	// Offset is the byte offset just after the last record returned.
	Offset() int64
	// Line is the last input line consumed.
	Line() int64
	// Columns are the known columns the input has.
	Columns() []string
}

var errNoColumns = cancuoc.InvalidField("reconcile.input", "header", "reconcile_header",
	"Dòng tiêu đề không có cột nào quen thuộc; cần một số cột trong record_id, pin, full_name, birth_date, sex, address, card_number.",
	"The header names no known column; use some of record_id, pin, full_name, birth_date, sex, address, card_number.")

// normHeader turns a header cell into a column name: BOM, case, spaces and
// Vietnamese marks are ignored ("Họ tên" → ho_ten → full_name).
func normHeader(s string) string {
	s = strings.TrimPrefix(s, "\ufeff")
	var b strings.Builder
	for _, w := range strings.Fields(keyOf(s)) {
		if b.Len() > 0 {
			b.WriteByte('_')
		}
		b.WriteString(w)
	}
	h := b.String()
	if a, ok := aliases[h]; ok {
		return a
	}
	return h
}

// bomLen is the length of a UTF-8 byte order mark at the start of r, which
// spreadsheet programs write and which is not data.
func bomLen(br *bufio.Reader) int64 {
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = br.Discard(3)
		return 3
	}
	return 0
}

// csvReader reads CSV with a header row (RFC 4180: comma-separated,
// quoted fields with doubled quotes inside, LF or CRLF; a quoted field may
// span lines). It scans records itself rather than with encoding/csv for
// three reasons the job depends on: exact byte offsets for checkpoints, a
// bound on a record's size (an unclosed quote would otherwise swallow the
// rest of the file into one field), and recovery: a bad row is reported
// and reading resumes on the next line.
type csvReader struct {
	br     *bufio.Reader
	offset int64 // of the next record
	line   int64 // last line consumed
	idx    []int // input column → known column index, -1 when unknown
	cols   []string
	rec    Record
	fields []string
	spans  []span
	built  []string
	sb     strings.Builder
}

// NewCSVReader reads the header of r (which must be at the start of the
// input) and returns a reader positioned after it. To resume at a
// checkpoint, call ResumeCSVReader.
func NewCSVReader(r io.Reader) (Reader, error) {
	c := &csvReader{br: bufio.NewReaderSize(r, maxRecordBytes+1)}
	c.offset = bomLen(c.br)
	for {
		rec, err := c.next()
		if errors.Is(err, io.EOF) {
			return nil, cancuoc.InvalidField("reconcile.input", "header", "reconcile_empty",
				"Tệp trống: cần dòng tiêu đề và các dòng dữ liệu.", "The file is empty: a header row and data rows are needed.")
		}
		if err != nil {
			return nil, err
		}
		if rec == nil {
			continue // blank line before the header
		}
		if c.rec.Malformed != "" {
			return nil, errNoColumns
		}
		return c, c.setHeader(rec)
	}
}

// ResumeCSVReader reads the header from head (the input from its start)
// and then reads records from rest, which is the input from offset on, the
// first byte after line.
func ResumeCSVReader(head io.Reader, rest io.Reader, offset, line int64) (Reader, error) {
	r, err := NewCSVReader(head)
	if err != nil {
		return nil, err
	}
	c := r.(*csvReader)
	c.br = bufio.NewReaderSize(rest, maxRecordBytes+1)
	c.offset, c.line = offset, line
	return c, nil
}

func (c *csvReader) setHeader(head []string) error {
	c.idx = make([]int, len(head))
	seen := map[int]bool{}
	for i, h := range head {
		c.idx[i] = colIndex(normHeader(h))
		if c.idx[i] >= 0 {
			if seen[c.idx[i]] {
				return cancuoc.InvalidField("reconcile.input", "header", "reconcile_header_repeated",
					"Cột "+Columns[c.idx[i]]+" xuất hiện hai lần trong dòng tiêu đề.",
					"Column "+Columns[c.idx[i]]+" appears twice in the header.")
			}
			seen[c.idx[i]] = true
			c.cols = append(c.cols, Columns[c.idx[i]])
		}
	}
	if len(c.cols) == 0 {
		return errNoColumns
	}
	return nil
}

func (c *csvReader) Columns() []string { return c.cols }
func (c *csvReader) Offset() int64     { return c.offset }
func (c *csvReader) Line() int64       { return c.line }

func (c *csvReader) Next() (*Record, error) {
	for {
		row, err := c.next()
		if err != nil {
			return nil, err
		}
		if row == nil && c.rec.Malformed == "" {
			continue // blank line
		}
		if c.rec.Malformed != "" {
			return &c.rec, nil
		}
		if len(row) != len(c.idx) {
			c.rec.Malformed = fmt.Sprintf("row has %d fields, the header has %d", len(row), len(c.idx))
			return &c.rec, nil
		}
		for i, v := range row {
			if j := c.idx[i]; j >= 0 {
				c.rec.Fields[j] = v
			}
		}
		c.rec.Malformed = checkFields(&c.rec)
		return &c.rec, nil
	}
}

// next scans one record. It returns nil fields for a blank line, and sets
// c.rec.Line and c.rec.Malformed; io.EOF at the end of the input.
func (c *csvReader) next() ([]string, error) {
	var (
		b      []byte
		err    error
		atEOF  bool
		n      int
		reason string
	)
	// A record is scanned in a small window first: peeking the whole
	// maximum each time would move up to 64 KiB in the buffer per record.
	// Anything the small window does not settle (a record not complete in
	// it, a malformed one) is scanned again in the whole window, so the
	// result is the same as if only the whole one were used.
	for _, size := range [2]int{quickWindow, maxRecordBytes + 1} {
		b, err = c.br.Peek(size)
		if len(b) == 0 {
			if err == nil || errors.Is(err, io.EOF) || errors.Is(err, bufio.ErrBufferFull) {
				return nil, io.EOF
			}
			return nil, err
		}
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
		atEOF = errors.Is(err, io.EOF)
		c.rec = Record{Line: c.line + 1}
		n, reason = c.scan(b, atEOF)
		if reason == "" || atEOF {
			break
		}
	}
	if reason != "" {
		// Skip the record's first line only: a stray quote must not hide
		// the rows after it.
		n = bytes.IndexByte(b, '\n') + 1
		if n == 0 {
			// No newline in a whole window: a line too long to be a
			// record. Skip it to its end.
			if err := c.skipLine(len(b)); err != nil {
				return nil, err
			}
			c.rec.Malformed = fmt.Sprintf("line longer than %d bytes", maxRecordBytes)
			return nil, nil
		}
		c.rec.Malformed = reason
		c.fields = c.fields[:0]
	}
	c.consume(b[:n], n)
	if reason == "" && len(c.fields) == 1 && c.fields[0] == "" {
		return nil, nil
	}
	if reason != "" {
		return nil, nil
	}
	return c.fields, nil
}

func (c *csvReader) consume(b []byte, n int) {
	c.line += int64(bytes.Count(b, []byte{'\n'}))
	if n > 0 && b[n-1] != '\n' {
		c.line++ // the last line, without a final newline
	}
	c.offset += int64(n)
	_, _ = c.br.Discard(n)
}

// skipLine discards a line longer than the buffer: the n bytes peeked and
// whatever follows up to and including the next newline.
func (c *csvReader) skipLine(n int) error {
	_, _ = c.br.Discard(n)
	c.offset += int64(n)
	for {
		b, err := c.br.ReadSlice('\n')
		c.offset += int64(len(b))
		if err == nil || errors.Is(err, io.EOF) {
			c.line++
			return nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
	}
}

// scan parses the record at the start of b into c.fields and returns its
// length with its line end, or a reason it is malformed. The fields are
// slices of one string holding the record's bytes (one allocation a
// record); only a quoted field with a doubled quote or a CRLF inside is
// built apart.
func (c *csvReader) scan(b []byte, atEOF bool) (int, string) {
	c.fields = c.fields[:0]
	c.spans = c.spans[:0]
	n, reason := c.scanSpans(b, atEOF)
	if reason != "" {
		return n, reason
	}
	line := string(b[:n])
	for _, sp := range c.spans {
		if sp.built >= 0 {
			c.fields = append(c.fields, c.built[sp.built])
		} else {
			c.fields = append(c.fields, line[sp.start:sp.end])
		}
	}
	c.built = c.built[:0]
	return n, ""
}

// span is a field of the record being scanned: bytes start to end of the
// record, or (built ≥ 0) a text built apart, in csvReader.built.
type span struct{ start, end, built int }

func (c *csvReader) field(start, end int) {
	c.spans = append(c.spans, span{start, end, -1})
}

func (c *csvReader) scanSpans(b []byte, atEOF bool) (int, string) {
	c.built = c.built[:0]
	i := 0
	for {
		if i < len(b) && b[i] == '"' {
			i++
			start, plain := i, true
			c.sb.Reset()
			for {
				j := bytes.IndexByte(b[i:], '"')
				if j < 0 {
					if atEOF {
						return 0, "a quoted field is not closed before the end of the file"
					}
					return 0, fmt.Sprintf("a quoted field is not closed within %d bytes", maxRecordBytes)
				}
				c.sb.Write(b[i : i+j])
				i += j + 1
				if i < len(b) && b[i] == '"' {
					c.sb.WriteByte('"')
					plain = false
					i++
					continue
				}
				break
			}
			if plain && bytes.Contains(b[start:i-1], []byte("\r\n")) {
				plain = false
			}
			if plain {
				c.field(start, i-1)
			} else {
				c.spans = append(c.spans, span{0, 0, len(c.built)})
				c.built = append(c.built, strings.ReplaceAll(c.sb.String(), "\r\n", "\n"))
			}
			switch {
			case i >= len(b):
				if !atEOF {
					return 0, fmt.Sprintf("record longer than %d bytes", maxRecordBytes)
				}
				return i, ""
			case b[i] == ',':
				i++
				continue
			case b[i] == '\n':
				return i + 1, ""
			case b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n':
				return i + 2, ""
			case b[i] == '\r' && i+1 == len(b) && atEOF:
				return i + 1, ""
			}
			return 0, "text after a closing quote; a quote inside a quoted field must be doubled"
		}
		j := bytes.IndexAny(b[i:], ",\n\"")
		if j < 0 {
			if !atEOF {
				return 0, fmt.Sprintf("record longer than %d bytes", maxRecordBytes)
			}
			end := len(b)
			if end > i && b[end-1] == '\r' {
				end--
			}
			c.field(i, end)
			return len(b), ""
		}
		switch b[i+j] {
		case '"':
			return 0, "a quote (\") inside an unquoted field; quote the field and double the quote"
		case ',':
			c.field(i, i+j)
			i += j + 1
		case '\n':
			end := i + j
			if end > i && b[end-1] == '\r' {
				end--
			}
			c.field(i, end)
			return i + j + 1, ""
		}
	}
}

// checkFields refuses text that cannot be data: invalid UTF-8, control
// characters, overlong fields.
func checkFields(r *Record) string {
	for i, v := range r.Fields {
		if why := checkField(i, v); why != "" {
			return why
		}
	}
	return ""
}

// checkField checks one field in one pass over its bytes (every record's
// every field goes through it): invalid UTF-8 is reported first, then the
// length, then a control character, whichever comes first in the text.
func checkField(col int, v string) string {
	// A tab is allowed anywhere, a line break in an address only.
	ctrl := func(c rune) bool { return c < 0x20 && c != '\t' && !(c == '\n' && col == 5) }
	var (
		runes   int
		control bool
	)
	for k := 0; k < len(v); {
		c := v[k]
		if c < utf8.RuneSelf {
			control = control || ctrl(rune(c))
			runes++
			k++
			continue
		}
		r, size := utf8.DecodeRuneInString(v[k:])
		if r == utf8.RuneError && size == 1 {
			return Columns[col] + " is not valid UTF-8 (save the file as UTF-8)"
		}
		runes++
		k += size
	}
	if runes > maxFieldRunes {
		return fmt.Sprintf("%s is longer than %d characters", Columns[col], maxFieldRunes)
	}
	if control {
		return Columns[col] + " contains a control character"
	}
	return ""
}

// jsonlReader reads JSON Lines: one object per line, keys named as the
// columns; other keys are ignored.
type jsonlReader struct {
	br     *bufio.Reader
	offset int64
	line   int64
	cols   []string
	rec    Record
}

// NewJSONLReader reads JSON Lines from r, which starts at offset (after
// line); 0, 0 for a new job.
func NewJSONLReader(r io.Reader, offset, line int64) Reader {
	br := bufio.NewReaderSize(r, maxRecordBytes+1)
	if offset == 0 {
		offset = bomLen(br)
	}
	return &jsonlReader{br: br, offset: offset, line: line, cols: Columns}
}

func (j *jsonlReader) Columns() []string { return j.cols }
func (j *jsonlReader) Offset() int64     { return j.offset }
func (j *jsonlReader) Line() int64       { return j.line }

// jsonRecord is a JSON Lines object. Values must be strings (or null): a
// PIN or card number sent as a number would have lost its leading zeros.
type jsonRecord struct {
	RecordID   *string `json:"record_id"`
	PIN        *string `json:"pin"`
	FullName   *string `json:"full_name"`
	BirthDate  *string `json:"birth_date"`
	Sex        *string `json:"sex"`
	Address    *string `json:"address"`
	CardNumber *string `json:"card_number"`
}

func (j *jsonlReader) Next() (*Record, error) {
	for {
		b, err := j.br.ReadSlice('\n')
		n := len(b)
		long := false
		for errors.Is(err, bufio.ErrBufferFull) {
			// Too long to be a record: skip to the end of the line.
			long = true
			b, err = j.br.ReadSlice('\n')
			n += len(b)
		}
		if n == 0 && errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		j.offset += int64(n)
		j.line++
		j.rec = Record{Line: j.line}
		if long {
			j.rec.Malformed = fmt.Sprintf("line longer than %d bytes", maxRecordBytes)
			return &j.rec, nil
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		if flatJSON(b, &j.rec.Fields) {
			j.rec.Malformed = checkFields(&j.rec)
			return &j.rec, nil
		}
		j.rec.Fields = [numCols]string{}
		var jr jsonRecord
		if err := json.Unmarshal(b, &jr); err != nil {
			j.rec.Malformed = jsonReason(err)
			return &j.rec, nil
		}
		for i, p := range []*string{jr.RecordID, jr.PIN, jr.FullName, jr.BirthDate, jr.Sex, jr.Address, jr.CardNumber} {
			if p != nil {
				j.rec.Fields[i] = *p
			}
		}
		j.rec.Malformed = checkFields(&j.rec)
		return &j.rec, nil
	}
}

func jsonReason(err error) string {
	var typ *json.UnmarshalTypeError
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &typ):
		return fmt.Sprintf("%s must be a string (write numbers in quotes so leading zeros are kept)", typ.Field)
	case errors.As(err, &syn):
		return fmt.Sprintf("not a JSON object: malformed JSON at byte %d", syn.Offset)
	}
	return "not a JSON object: " + err.Error()
}

// flatJSON reads the common JSON Lines object, flat with string (or null)
// values without escapes and keys named exactly as the columns, into f,
// slicing the values from one string (one allocation a record). It reports
// false for anything else (escapes, numbers, nesting, keys in other case,
// invalid UTF-8, syntax errors), which encoding/json then reads and
// explains; FuzzFlatJSON holds the two to the same fields.
func flatJSON(b []byte, f *[numCols]string) bool {
	i := 0
	ws := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
			i++
		}
	}
	// str returns the bounds of a string without escapes or control
	// characters at i, and whether it is ASCII.
	str := func() (int, int, bool) {
		if i >= len(b) || b[i] != '"' {
			return -1, -1, false
		}
		start := i + 1
		ascii := true
		for k := start; k < len(b); k++ {
			switch c := b[k]; {
			case c == '"':
				i = k + 1
				return start, k, ascii
			case c == '\\' || c < 0x20:
				return -1, -1, false
			case c >= utf8.RuneSelf:
				ascii = false
			}
		}
		return -1, -1, false
	}
	var set [numCols]struct{ start, end int }
	for k := range set {
		set[k].start = -1
	}
	ws()
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i++
	ws()
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			ks, ke, kascii := str()
			if ks < 0 || !kascii {
				return false
			}
			col := -1
			key := b[ks:ke]
			for k, name := range Columns {
				if string(key) == name {
					col = k
					break
				}
			}
			if col < 0 {
				// encoding/json matches keys ignoring case: only keys
				// that cannot match a column that way are skipped here.
				for _, c := range key {
					if 'A' <= c && c <= 'Z' {
						return false
					}
				}
			}
			ws()
			if i >= len(b) || b[i] != ':' {
				return false
			}
			i++
			ws()
			switch {
			case i < len(b) && b[i] == '"':
				vs, ve, ascii := str()
				if vs < 0 || (!ascii && !utf8.Valid(b[vs:ve])) {
					return false
				}
				if col >= 0 {
					set[col].start, set[col].end = vs, ve
				}
			case bytes.HasPrefix(b[i:], []byte("null")):
				i += 4
				if col >= 0 {
					set[col].start = -1
				}
			default:
				return false
			}
			ws()
			if i < len(b) && b[i] == ',' {
				i++
				ws()
				continue
			}
			if i < len(b) && b[i] == '}' {
				i++
				break
			}
			return false
		}
	}
	ws()
	if i != len(b) {
		return false
	}
	text := string(b)
	for k, sp := range set {
		if sp.start >= 0 {
			f[k] = text[sp.start:sp.end]
		}
	}
	return true
}
