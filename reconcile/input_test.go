package reconcile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

type readRec struct {
	line   int64
	fields [numCols]string
	bad    string
	offset int64
	last   int64
}

func readAll(t testing.TB, r Reader) []readRec {
	var out []readRec
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, readRec{rec.Line, rec.Fields, rec.Malformed, r.Offset(), r.Line()})
	}
}

func TestCSVReader(t *testing.T) {
	in := "\ufeffRecord_ID,Họ tên,ngay_sinh,extra,pin\r\n" +
		"a1,\"Nguyễn Văn \"\"Tý\"\"\",1990-05-17,x,001090000001\r\n" +
		"\r\n" +
		"a2,\"Trần, Thị\nHoa\",17/05/1990,y,\r\n" +
		"a3,short\r\n" +
		"a4,Lê \"Văn\" An,1990,z,\n" +
		"a5,\"unclosed,1990,z,\n" +
		"a6,Phạm Lan,1991,z,079091000002"
	r, err := NewCSVReader(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.Columns(), ","); got != "record_id,full_name,birth_date,pin" {
		t.Errorf("columns %s", got)
	}
	recs := readAll(t, r)
	want := []struct {
		line          int64
		id, name, pin string
		bad           string
	}{
		{2, "a1", `Nguyễn Văn "Tý"`, "001090000001", ""},
		{4, "a2", "Trần, Thị\nHoa", "", "full_name contains a control character"},
		{6, "", "", "", "row has 2 fields, the header has 5"},
		{7, "", "", "", "a quote (\") inside an unquoted field; quote the field and double the quote"},
		{8, "", "", "", "a quoted field is not closed before the end of the file"},
		{9, "a6", "Phạm Lan", "079091000002", ""},
	}
	if len(recs) != len(want) {
		t.Fatalf("got %d records, want %d: %+v", len(recs), len(want), recs)
	}
	for i, w := range want {
		g := recs[i]
		if g.line != w.line || g.fields[0] != w.id || g.fields[2] != w.name || g.fields[1] != w.pin || g.bad != w.bad {
			t.Errorf("record %d = line %d %q %q %q bad %q; want %+v", i, g.line, g.fields[0], g.fields[2], g.fields[1], g.bad, w)
		}
	}
	if recs[len(recs)-1].offset != int64(len(in)) {
		t.Errorf("final offset %d, want %d", recs[len(recs)-1].offset, len(in))
	}
	checkResume(t, in, recs)
}

// checkResume reopens the input at every record's offset and checks the
// records that follow are the same as in one pass.
func checkResume(t testing.TB, in string, recs []readRec) {
	t.Helper()
	for i := range recs {
		off, line := recs[i].offset, recs[i].last
		r, err := ResumeCSVReader(strings.NewReader(in), strings.NewReader(in[off:]), off, line)
		if err != nil {
			t.Fatalf("resume: %v", err)
		}
		rest := readAll(t, r)
		if len(rest) != len(recs)-i-1 {
			t.Fatalf("resumed after record %d (offset %d): %d records, want %d", i, off, len(rest), len(recs)-i-1)
		}
		for j := range rest {
			if rest[j] != recs[i+1+j] {
				t.Fatalf("resumed after record %d: record %+v, want %+v", i, rest[j], recs[i+1+j])
			}
		}
	}
}

func TestCSVHeaderErrors(t *testing.T) {
	for _, in := range []string{"", "\n\n", "foo,bar\n1,2\n", "\"open\n"} {
		if _, err := NewCSVReader(strings.NewReader(in)); err == nil {
			t.Errorf("header %q: no error", in)
		}
	}
	if _, err := NewCSVReader(strings.NewReader("pin,PIN\n")); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("repeated column: %v", err)
	}
}

func TestCSVLongLine(t *testing.T) {
	long := strings.Repeat("x", maxRecordBytes*3)
	in := "record_id,full_name\nr1,An\nr2," + long + "\nr3,Bình\n"
	r, err := NewCSVReader(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	recs := readAll(t, r)
	if len(recs) != 3 || recs[1].bad == "" || recs[2].fields[0] != "r3" || recs[2].line != 4 {
		t.Fatalf("records %+v", recs)
	}
	if recs[2].offset != int64(len(in)) {
		t.Errorf("offset %d, want %d", recs[2].offset, len(in))
	}
}

func TestJSONLReader(t *testing.T) {
	in := "\ufeff{\"record_id\":\"j1\",\"pin\":\"001090000001\",\"full_name\":\"An\",\"other\":1}\n" +
		"\n" +
		"{\"record_id\":\"j2\",\"pin\":1090000001}\r\n" +
		"not json\n" +
		"[1,2]\n" +
		"{\"record_id\":\"j3\",\"sex\":\"nữ\"}"
	recs := readAll(t, NewJSONLReader(strings.NewReader(in), 0, 0))
	if len(recs) != 5 {
		t.Fatalf("got %d records: %+v", len(recs), recs)
	}
	if recs[0].fields[0] != "j1" || recs[0].fields[1] != "001090000001" || recs[0].bad != "" || recs[0].line != 1 {
		t.Errorf("first %+v", recs[0])
	}
	if !strings.Contains(recs[1].bad, "pin must be a string") || recs[1].line != 3 {
		t.Errorf("number PIN: %+v", recs[1])
	}
	if recs[2].bad == "" || recs[3].bad == "" || recs[4].fields[4] != "nữ" || recs[4].line != 6 {
		t.Errorf("records %+v", recs[2:])
	}
	if recs[4].offset != int64(len(in)) {
		t.Errorf("offset %d, want %d", recs[4].offset, len(in))
	}
	// Resuming at each offset gives the same rest.
	for i := range recs {
		rest := readAll(t, NewJSONLReader(strings.NewReader(in[recs[i].offset:]), recs[i].offset, recs[i].last))
		if len(rest) != len(recs)-i-1 || (len(rest) > 0 && rest[0] != recs[i+1]) {
			t.Errorf("resume after %d: %+v", i, rest)
		}
	}
}

func TestJSONLLongLine(t *testing.T) {
	in := `{"record_id":"a"}` + "\n" + `{"full_name":"` + strings.Repeat("x", 3*maxRecordBytes) + `"}` + "\n" + `{"record_id":"b"}` + "\n"
	recs := readAll(t, NewJSONLReader(strings.NewReader(in), 0, 0))
	if len(recs) != 3 || recs[1].bad == "" || recs[2].fields[0] != "b" || recs[2].line != 3 || recs[2].offset != int64(len(in)) {
		t.Fatalf("records %+v", recs)
	}
}

func TestParse(t *testing.T) {
	rec := func(f ...string) *Record {
		r := &Record{Line: 5}
		copy(r.Fields[:], f)
		return r
	}
	in, bad := Parse(rec("", " 001090000001 ", "  nguyễn  văn   đức ", "17/5/1990", "Nam", "Phường Ba Đình, Hà Nội", "001 090 000 001"), 2026)
	if bad != "" {
		t.Fatal(bad)
	}
	if in.ID != "line 5" || in.PIN != "001090000001" || in.Name != "nguyễn văn đức" || in.NameKey != "nguyen van duc" ||
		in.Birth.String() != "1990-05-17" || in.Sex != "male" || in.AddrKey != "phuong ba dinh ha noi" || in.Card != "001090000001" {
		t.Errorf("Parse = %+v", in)
	}
	if in, _ := Parse(rec("x", "12345"), 2026); in.PINError == "" || in.PIN != "" {
		t.Errorf("bad PIN: %+v", in)
	}
	for _, date := range []string{"1990", "05/1990", "1990-05", "17.05.1990", "17-05-1990", "1990-05-17"} {
		if _, bad := Parse(rec("x", "", "", date), 2026); bad != "" {
			t.Errorf("date %q: %s", date, bad)
		}
	}
	for i, f := range [][]string{
		{"x", "", "", "31/02/1990"}, {"x", "", "", "2030"}, {"x", "", "", "1990/05/17"}, {"x", "", "", "yesterday"},
		{"x", "", "", "", "other"}, {"x", "", "Nguyễn 2"}, {"x", "", "", "", "", "", "12AB"}, {"x", "", "", "", "", "", "1234"},
	} {
		if _, bad := Parse(rec(f...), 2026); bad == "" {
			t.Errorf("case %d %q: accepted", i, f)
		}
	}
}

func FuzzCSVReader(f *testing.F) {
	f.Add([]byte("record_id,pin,full_name\nr1,001090000001,\"An, Bình\"\r\nr2,,\"x\"\"y\"\n"))
	f.Add([]byte("\ufeffpin\n\"unclosed\nnext\n"))
	f.Add([]byte("full_name,birth_date\na\"b,1990\n,,\n\n\nc,17/05/1990"))
	f.Add([]byte("pin\r\n\"a\"x\r\n\"\"\r"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewCSVReader(bytes.NewReader(b))
		if err != nil {
			return
		}
		recs := readAll(t, r)
		// A tiny first window reads the same records.
		defer func(w int) { quickWindow = w }(quickWindow)
		quickWindow = 3
		if r, err := NewCSVReader(bytes.NewReader(b)); err != nil {
			t.Fatalf("with a small window the header fails: %v", err)
		} else if small := readAll(t, r); !slices.Equal(small, recs) {
			t.Fatalf("with a small window %+v, with the default %+v", small, recs)
		}
		quickWindow = 4 << 10
		var prevOff, prevLine int64
		for _, rc := range recs {
			if rc.offset <= prevOff || rc.offset > int64(len(b)) || rc.line <= prevLine || rc.last < rc.line {
				t.Fatalf("record %+v after offset %d line %d (input %d bytes)", rc, prevOff, prevLine, len(b))
			}
			prevOff, prevLine = rc.offset, rc.last
		}
		checkResume(t, string(b), recs)
	})
}

func FuzzJSONLReader(f *testing.F) {
	f.Add([]byte("{\"record_id\":\"a\",\"pin\":\"001090000001\"}\n{\"pin\":1}\n\nbad\n"))
	f.Add([]byte("\ufeff{\"full_name\":null}\r\n[]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs := readAll(t, NewJSONLReader(bytes.NewReader(b), 0, 0))
		var prev int64
		for i, rc := range recs {
			if rc.offset <= prev || rc.offset > int64(len(b)) {
				t.Fatalf("record %d offset %d after %d (input %d bytes)", i, rc.offset, prev, len(b))
			}
			prev = rc.offset
			rest := readAll(t, NewJSONLReader(bytes.NewReader(b[rc.offset:]), rc.offset, rc.last))
			if len(rest) != len(recs)-i-1 {
				t.Fatalf("resume after %d: %d records, want %d", i, len(rest), len(recs)-i-1)
			}
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add("r1", "001090000001", "Nguyễn Văn Đức", "17/05/1990", "nữ", "Hà Nội", "001090000001")
	f.Add("", "0010900000011", "a\x00b", "31/31/31", "?", "", "abc")
	f.Fuzz(func(t *testing.T, id, pin, name, birth, sex, addr, card string) {
		r := &Record{Line: 2, Fields: [numCols]string{id, pin, name, birth, sex, addr, card}}
		in, bad := Parse(r, 2026)
		if (in == nil) == (bad == "") {
			t.Fatalf("Parse returned %v and %q", in, bad)
		}
		if in != nil && in.PIN != "" && in.PINError != "" {
			t.Fatalf("both a PIN and a PIN error: %+v", in)
		}
	})
}

// refScan is the CSV record scanner as it was before fields became slices
// of one string per record: the reference the scanner is held to.
func refScan(b []byte, atEOF bool) ([]string, int, string) {
	var fields []string
	var sb strings.Builder
	i := 0
	for {
		sb.Reset()
		if i < len(b) && b[i] == '"' {
			i++
			for {
				j := bytes.IndexByte(b[i:], '"')
				if j < 0 {
					if atEOF {
						return fields, 0, "a quoted field is not closed before the end of the file"
					}
					return fields, 0, fmt.Sprintf("a quoted field is not closed within %d bytes", maxRecordBytes)
				}
				sb.Write(b[i : i+j])
				i += j + 1
				if i < len(b) && b[i] == '"' {
					sb.WriteByte('"')
					i++
					continue
				}
				break
			}
			fields = append(fields, strings.ReplaceAll(sb.String(), "\r\n", "\n"))
			switch {
			case i >= len(b):
				if !atEOF {
					return fields, 0, fmt.Sprintf("record longer than %d bytes", maxRecordBytes)
				}
				return fields, i, ""
			case b[i] == ',':
				i++
				continue
			case b[i] == '\n':
				return fields, i + 1, ""
			case b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n':
				return fields, i + 2, ""
			case b[i] == '\r' && i+1 == len(b) && atEOF:
				return fields, i + 1, ""
			}
			return fields, 0, "text after a closing quote; a quote inside a quoted field must be doubled"
		}
		j := bytes.IndexAny(b[i:], ",\n\"")
		if j < 0 {
			if !atEOF {
				return fields, 0, fmt.Sprintf("record longer than %d bytes", maxRecordBytes)
			}
			fields = append(fields, string(bytes.TrimSuffix(b[i:], []byte{'\r'})))
			return fields, len(b), ""
		}
		switch b[i+j] {
		case '"':
			return fields, 0, "a quote (\") inside an unquoted field; quote the field and double the quote"
		case ',':
			fields = append(fields, string(b[i:i+j]))
			i += j + 1
		case '\n':
			fields = append(fields, string(bytes.TrimSuffix(b[i:i+j], []byte{'\r'})))
			return fields, i + j + 1, ""
		}
	}
}

func FuzzCSVScan(f *testing.F) {
	f.Add([]byte("r1,001090000001,\"An, Bình\"\r\nr2"), true)
	f.Add([]byte("\"a\"\"b\",\"x\r\ny\",\r\n"), false)
	f.Add([]byte("a,b\r"), true)
	f.Add([]byte("\"a\"x,\n"), true)
	f.Fuzz(func(t *testing.T, b []byte, atEOF bool) {
		c := &csvReader{}
		n, reason := c.scan(b, atEOF)
		fields, wn, wreason := refScan(b, atEOF)
		if reason != "" || wreason != "" {
			if reason != wreason {
				t.Fatalf("scan(%q) reason %q, reference %q", b, reason, wreason)
			}
			return
		}
		if n != wn || !slices.Equal(c.fields, fields) {
			t.Fatalf("scan(%q) = %d %q, reference %d %q", b, n, c.fields, wn, fields)
		}
	})
}

func FuzzFlatJSON(f *testing.F) {
	f.Add([]byte(`{"record_id":"a","pin":"001090000001","full_name":"Nguyễn Văn Đức","other":"x","sex":null}`))
	f.Add([]byte(`{ "PIN" : "1", "pin":"2" , "pin": null }`))
	f.Add([]byte(`{"full_name":"a\"b","birth_date":1990}`))
	f.Add([]byte("{\"address\":\"\xff\"}"))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var got [numCols]string
		if !flatJSON(b, &got) {
			return
		}
		var jr jsonRecord
		if err := json.Unmarshal(b, &jr); err != nil {
			t.Fatalf("flatJSON read %q, encoding/json refuses it: %v", b, err)
		}
		var want [numCols]string
		for i, p := range []*string{jr.RecordID, jr.PIN, jr.FullName, jr.BirthDate, jr.Sex, jr.Address, jr.CardNumber} {
			if p != nil {
				want[i] = *p
			}
		}
		if got != want {
			t.Fatalf("flatJSON(%q) = %q, encoding/json %q", b, got, want)
		}
	})
}

// checkFieldsBefore is checkFields as it was before its one-pass version:
// the reference FuzzCheckFields holds the new one to.
func checkFieldsBefore(r *Record) string {
	for i, v := range r.Fields {
		if !utf8.ValidString(v) {
			return Columns[i] + " is not valid UTF-8 (save the file as UTF-8)"
		}
		if utf8.RuneCountInString(v) > maxFieldRunes {
			return fmt.Sprintf("%s is longer than %d characters", Columns[i], maxFieldRunes)
		}
		for _, ch := range v {
			if ch < 0x20 && ch != '\t' && !(ch == '\n' && i == 5) {
				return Columns[i] + " contains a control character"
			}
		}
	}
	return ""
}

// FuzzCheckFields: the one-pass check gives the same verdict as the
// three-pass one on any text in any column.
func FuzzCheckFields(f *testing.F) {
	f.Add("Nguyễn Văn Đức", 2)
	f.Add("Ấp 10\nXã Đại Điền", 5)
	f.Add("a\x01\xff", 2)
	f.Add("\x01\xed\xa0\x80", 0)
	f.Add(strings.Repeat("ễ", 501), 5)
	f.Add(strings.Repeat("a", 500)+"\x02", 1)
	f.Add("\ufffd\t", 3)
	f.Fuzz(func(t *testing.T, v string, col int) {
		var r Record
		r.Fields[((col%numCols)+numCols)%numCols] = v
		if got, want := checkFields(&r), checkFieldsBefore(&r); got != want {
			t.Fatalf("checkFields(%q) = %q, want %q", v, got, want)
		}
	})
}
