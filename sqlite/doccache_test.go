package sqlite

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/cancuoc/cancuoc"
)

func TestDocCache(t *testing.T) {
	c := &docCache[cancuoc.Procedure]{clone: cloneProcedure}
	v1 := []byte(`{"id":"P1","status":"open","application":{"a":1},"version":1}`)
	v2 := []byte(`{"id":"P1","status":"completed","application":{"a":1},"version":2}`)
	p, err := c.decode("P1", v1)
	if err != nil || p.Status != "open" {
		t.Fatalf("first read: %+v, %v", p, err)
	}
	// The caller's copy is its own.
	p.Status, p.Application[1] = "changed", 'X'
	again, err := c.decode("P1", v1)
	if err != nil || again.Status != "open" || string(again.Application) != `{"a":1}` {
		t.Fatalf("second read of the same JSON: %+v, %v", again, err)
	}
	if _, ok := c.get("P1", v1); !ok {
		t.Fatal("the JSON read twice is not kept")
	}
	// Other bytes under the key: decoded, not the value kept.
	p2, err := c.decode("P1", v2)
	if err != nil || p2.Status != "completed" || p2.Version != 2 {
		t.Fatalf("read of changed JSON: %+v, %v", p2, err)
	}
	// And back (a write rolled back): the first JSON decodes again.
	if p1, _ := c.decode("P1", v1); p1.Status != "open" || p1.Version != 1 {
		t.Fatalf("read of the first JSON again: %+v", p1)
	}
	if _, err := c.decode("P2", []byte(`{"id":`)); err == nil {
		t.Fatal("invalid JSON decoded")
	}
	if _, ok := c.get("P2", []byte(`{"id":`)); ok {
		t.Fatal("invalid JSON kept")
	}
	// Bounded.
	for i := range docCacheMax + 10 {
		if _, err := c.decode(strconv.Itoa(i), v1); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.m); n > docCacheMax {
		t.Fatalf("%d entries kept, want at most %d", n, docCacheMax)
	}
	// No cache (ops for one query): decoded every time.
	var none *docCache[cancuoc.Procedure]
	if p, err := none.decode("P1", v1); err != nil || p.ID != "P1" {
		t.Fatalf("no cache: %+v, %v", p, err)
	}
}

// cloneProcedure must copy everything a caller could change through the
// copy: every pointer, slice and map of a Procedure (a field added later
// included: the value below fills every field by reflection).
func TestCloneProcedureIsDeep(t *testing.T) { checkCloneIsDeep(t, cloneProcedure, "Procedure") }

// checkCloneIsDeep fills every field of a T, clones it, and checks that the
// clone is equal and shares no pointer, slice or map with it.
func checkCloneIsDeep[T any](t *testing.T, clone func(*T) *T, name string) {
	t.Helper()
	var v T
	fill(t, reflect.ValueOf(&v).Elem())
	c := clone(&v)
	if !reflect.DeepEqual(c, &v) {
		t.Fatalf("clone %+v differs from %+v", c, v)
	}
	noSharing(t, reflect.ValueOf(&v).Elem(), reflect.ValueOf(c).Elem(), name)
}

// fill sets every field of v to a value other than its zero value.
func fill(t *testing.T, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(7)
	case reflect.Slice:
		if v.Type() == reflect.TypeOf(json.RawMessage(nil)) {
			v.SetBytes([]byte(`{"a":1}`))
			return
		}
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(t, s.Index(0))
		v.Set(s)
	case reflect.Pointer:
		n := reflect.New(v.Type().Elem())
		fill(t, n.Elem())
		v.Set(n)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(t, k)
		fill(t, e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(t, v.Field(i))
			}
		}
	default:
		t.Fatalf("fill: no value for a %s", v.Type())
	}
}

// noSharing fails if a and b share the memory behind a pointer, slice or map.
func noSharing(t *testing.T, a, b reflect.Value, path string) {
	t.Helper()
	switch a.Kind() {
	case reflect.Pointer, reflect.Map:
		if !a.IsNil() && a.UnsafePointer() == b.UnsafePointer() {
			t.Errorf("%s is shared by the clone", path)
		}
		if a.Kind() == reflect.Pointer && !a.IsNil() {
			noSharing(t, a.Elem(), b.Elem(), path)
		}
	case reflect.Slice:
		if a.Len() > 0 && unsafe.Pointer(a.Index(0).UnsafeAddr()) == unsafe.Pointer(b.Index(0).UnsafeAddr()) {
			t.Errorf("%s is shared by the clone", path)
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if a.Type().Field(i).IsExported() {
				noSharing(t, a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name)
			}
		}
	}
}

// Through the store: a file read after a change that was rolled back, or
// committed, is the file as stored, whatever was read before.
func TestProcedureReadsFollowTheRow(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	p := &cancuoc.Procedure{ID: "HS-1", Kind: cancuoc.ProcedureBirth, Status: cancuoc.ProcedureOpen, Applicant: "001090000001",
		Province: "01", Commune: "00004", Application: json.RawMessage(`{"full_name":"A"}`), SubmittedAt: now,
		Deadline: now.Add(time.Hour), Version: 1}
	if err := s.InTx(ctx, func(tx cancuoc.Tx) error { return tx.InsertProcedure(ctx, p) }); err != nil {
		t.Fatal(err)
	}
	read := func(what string, want cancuoc.ProcedureStatus, version int64) {
		t.Helper()
		got, err := s.Procedure(ctx, "HS-1")
		if err != nil || got.Status != want || got.Version != version {
			t.Fatalf("%s: %+v, %v; want %s at version %d", what, got, err, want, version)
		}
		got.Status = "changed by the caller"
	}
	read("first read", cancuoc.ProcedureOpen, 1)
	read("second read", cancuoc.ProcedureOpen, 1)
	errUndo := errors.New("undo")
	err = s.InTx(ctx, func(tx cancuoc.Tx) error {
		n := *p
		n.Status, n.Version = cancuoc.ProcedureCompleted, 2
		if err := tx.UpdateProcedure(ctx, &n, 1); err != nil {
			return err
		}
		got, err := tx.Procedure(ctx, "HS-1")
		if err != nil || got.Status != cancuoc.ProcedureCompleted {
			t.Errorf("read in the transaction: %+v, %v", got, err)
		}
		return errUndo
	})
	if !errors.Is(err, errUndo) {
		t.Fatal(err)
	}
	read("after the change rolled back", cancuoc.ProcedureOpen, 1)
	err = s.InTx(ctx, func(tx cancuoc.Tx) error {
		n := *p
		n.Status, n.Version = cancuoc.ProcedureCompleted, 2
		return tx.UpdateProcedure(ctx, &n, 1)
	})
	if err != nil {
		t.Fatal(err)
	}
	read("after the change committed", cancuoc.ProcedureCompleted, 2)
}

// A file or step kept as written must be the one a read of the row
// decodes: the cache answers the next reads in its place.
func TestAsReadIsWhatTheDocDecodes(t *testing.T) {
	hcm := time.FixedZone("ICT", 7*3600)
	now := time.Now() // with a monotonic reading and nanoseconds
	raws := []json.RawMessage{nil, json.RawMessage(`{"a":1}`), json.RawMessage("{ \"a\" : [1, 2],\n \"b\": \"<x> & y\" }"),
		json.RawMessage(`"\u2028"`), json.RawMessage("\"\u2028\""), json.RawMessage(`null`), json.RawMessage(`{}`)}
	for i, raw := range raws {
		var p cancuoc.Procedure
		fill(t, reflect.ValueOf(&p).Elem())
		p.Application, p.SubmittedAt, p.Deadline = raw, now, now.In(hcm)
		if i%2 == 1 {
			p.ClosedAt = nil
		} else {
			c := now.In(hcm)
			p.ClosedAt = &c
		}
		checkAsRead(t, &p, procedureAsRead)

		var s cancuoc.ProcedureStep
		fill(t, reflect.ValueOf(&s).Elem())
		s.Result, s.SubmittedAt, s.CreatedAt, s.Due = raw, now, now.In(hcm), now.UTC()
		if i%2 == 1 {
			s.ClaimedAt = nil
		} else {
			c := now
			s.ClaimedAt, s.CompletedAt = &c, &c
		}
		checkAsRead(t, &s, stepAsRead)
	}
	// An empty raw value: left out where the tag says omitempty.
	s := &cancuoc.ProcedureStep{ProcedureID: "HS-1", No: 1, Result: json.RawMessage{}}
	checkAsRead(t, s, stepAsRead)
	// JSON changes invalid UTF-8: not kept.
	bad := &cancuoc.ProcedureStep{ProcedureID: "HS-1", No: 1, Rejection: "a\xffb"}
	doc, _ := json.Marshal(bad)
	if _, ok := stepAsRead(bad, doc); ok {
		t.Error("a step with invalid UTF-8 kept as written")
	}
}

func checkAsRead[T any](t *testing.T, v *T, asRead func(*T, []byte) (*T, bool)) {
	t.Helper()
	doc, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want := new(T)
	if err := json.Unmarshal(doc, want); err != nil {
		t.Fatal(err)
	}
	got, ok := asRead(v, doc)
	if !ok {
		t.Fatalf("%s: not kept", doc)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("kept %+v\nthe doc decodes to %+v\n(doc %s)", got, want, doc)
	}
}

func TestCloneStepIsDeep(t *testing.T) { checkCloneIsDeep(t, cloneStep, "ProcedureStep") }
