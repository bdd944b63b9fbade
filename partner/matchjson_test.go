package partner

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cancuoc/cancuoc"
)

// TestMatchResultJSON: the hand-written encoding is byte for byte what
// encoding/json writes, for the answers the service gives and for odd
// values a caller could put in a MatchResult.
func TestMatchResultJSON(t *testing.T) {
	for _, r := range []MatchResult{
		{},
		{PIN: "001090012345", Found: true, Match: true, Fields: map[string]bool{"name": true, "birth_date": true, "sex": true},
			LifeStatus: cancuoc.Alive, NameRule: NameNoDiacritics},
		{PIN: "001090012345", Fields: map[string]bool{"phone": false, "card_number": false, "current_address": true, "name": false,
			"birth_date": true, "sex": false}, LifeStatus: cancuoc.Dead},
		{PIN: "079203000001", Found: true, Fields: map[string]bool{}, LifeStatus: cancuoc.Missing, NameRule: NameExact},
		{PIN: `<"\` + "\u2028\x00\xff", Fields: map[string]bool{"a&b": true, "Ü": false, "": true}, LifeStatus: "x\ny", NameRule: "é"},
	} {
		checkMatchJSON(t, &r)
	}
}

func checkMatchJSON(t *testing.T, r *MatchResult) {
	t.Helper()
	want, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.AppendJSON(nil); string(got) != string(want) {
		t.Fatalf("AppendJSON(%+v)\n got %s\nwant %s", r, got, want)
	}
}

// FuzzMatchResultJSON holds AppendJSON to encoding/json for any values.
func FuzzMatchResultJSON(f *testing.F) {
	f.Add("001090012345", true, false, "name", true, "birth_date", "alive", "exact")
	f.Add("<x>", false, true, "a\"b", false, "", "", "\xff")
	f.Fuzz(func(t *testing.T, pin string, found, match bool, k1 string, v1 bool, k2, status, rule string) {
		r := &MatchResult{PIN: cancuoc.PIN(pin), Found: found, Match: match, Fields: map[string]bool{k1: v1, k2: !v1},
			LifeStatus: cancuoc.LifeStatus(status), NameRule: rule}
		checkMatchJSON(t, r)
		r.Fields = nil
		checkMatchJSON(t, r)
	})
}

// TestViewFieldsAreMatchView: the fields whose change makes the projection
// re-read a record are exactly the match view's, so a field added to the
// view without being added there fails here instead of going stale.
func TestViewFieldsAreMatchView(t *testing.T) {
	var tags []string
	typ := reflect.TypeFor[matchView]()
	for i := range typ.NumField() {
		tags = append(tags, strings.Split(typ.Field(i).Tag.Get("json"), ",")[0])
	}
	got := slices.Sorted(slices.Values(viewFields))
	slices.Sort(tags)
	if !slices.Equal(got, tags) {
		t.Fatalf("viewFields = %v, matchView's fields = %v", got, tags)
	}
}
