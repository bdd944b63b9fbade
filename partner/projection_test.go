package partner_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/dispatch"
	"github.com/cancuoc/cancuoc/partner"
	"github.com/cancuoc/cancuoc/postgres/pgtest"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/storetest"
	"github.com/cancuoc/cancuoc/synth"
	"github.com/cancuoc/cancuoc/vntext"
)

func openSQLite(t *testing.T) cancuoc.Store {
	st, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// edgeCases are records whose match fields test the projection's corners;
// the number is the PIN's serial.
func edgeCases() []*cancuoc.Citizen {
	var out []*cancuoc.Citizen
	add := func(n int, f func(c *cancuoc.Citizen)) {
		c := storetest.Citizen(storetest.PINFor("001", cancuoc.Male, 1990, 900+n))
		f(c)
		out = append(out, c)
	}
	add(1, func(c *cancuoc.Citizen) {}) // the full record, as stored by the registry
	add(2, func(c *cancuoc.Citizen) {   // old-era residence with today's unit
		c.CurrentResidence = &cancuoc.Place{Era: cancuoc.Era63, Province: "01", District: "001", Commune: "00004",
			Detail: "số 5, ngõ Huế", Today: &cancuoc.UnitRef{Province: "01", Commune: "00004"}}
	})
	add(3, func(c *cancuoc.Citizen) { // old-era residence without today's unit
		c.CurrentResidence = &cancuoc.Place{Era: cancuoc.Era63, Province: "01", District: "001", Commune: "00004", Detail: "thôn Đông"}
	})
	add(4, func(c *cancuoc.Citizen) { c.BirthDate = cancuoc.Date{Year: 1990} })           // year only
	add(5, func(c *cancuoc.Citizen) { c.BirthDate = cancuoc.Date{Year: 1990, Month: 5} }) // year and month
	add(6, func(c *cancuoc.Citizen) { c.BirthDate = cancuoc.Date{} })                     // unknown
	add(7, func(c *cancuoc.Citizen) { c.LifeStatus = cancuoc.Dead })
	add(8, func(c *cancuoc.Citizen) { c.LifeStatus = cancuoc.Missing })
	add(9, func(c *cancuoc.Citizen) { // lost and replaced cards only
		c.Cards[1].Status = cancuoc.CardLost
	})
	add(10, func(c *cancuoc.Citizen) { // two valid cards: read from the store
		c.Cards[0].Status = cancuoc.CardValid
	})
	add(11, func(c *cancuoc.Citizen) { c.Cards = nil })
	add(12, func(c *cancuoc.Citizen) { c.FullName = norm.NFD.String("Nguyễn Thị Ánh Tuyết") }) // stored decomposed
	add(13, func(c *cancuoc.Citizen) { c.FullName = "Nguyen Van Duc" })                        // stored without diacritics
	add(14, func(c *cancuoc.Citizen) { c.Phone = "số máy bàn" })                               // not a phone number
	add(15, func(c *cancuoc.Citizen) { c.Phone = "" })
	add(16, func(c *cancuoc.Citizen) { c.CurrentResidence = nil })
	add(17, func(c *cancuoc.Citizen) {
		c.CurrentResidence = &cancuoc.Place{Era: cancuoc.Era34, Province: "79"} // no commune, no detail
	})
	add(18, func(c *cancuoc.Citizen) { // a code outside the registry's form: read from the store
		c.CurrentResidence = &cancuoc.Place{Era: cancuoc.Era34, Province: "7", Commune: "26734"}
	})
	add(19, func(c *cancuoc.Citizen) { c.FullName = "  Đặng   Thị  Ngọc  " })
	add(20, func(c *cancuoc.Citizen) { c.Sex = ""; c.Phone = "0084 912-345-678" })
	return out
}

// seedPopulation stores a synthetic population and the edge cases.
func seedPopulation(t *testing.T, st cancuoc.Store, n int) []*cancuoc.Citizen {
	t.Helper()
	ctx := t.Context()
	var all []*cancuoc.Citizen
	err := synth.Generate(ctx, synth.Config{Citizens: n, Seed: 4, Now: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)},
		func(b []*cancuoc.Citizen) error {
			all = append(all, b...)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range all {
		c.Version, c.NameKey, c.CreatedAt, c.UpdatedAt = 1, vntext.Key(c.FullName), storetest.T0, storetest.T0
		if c.LifeStatus == "" {
			c.LifeStatus = cancuoc.Alive
		}
	}
	all = append(all, edgeCases()...)
	for _, c := range all {
		if err := st.InsertCitizen(ctx, c); err != nil {
			t.Fatalf("insert %s: %v", c.PIN, err)
		}
	}
	return all
}

// queries builds checks of c from its own values, altered ones and wrong
// ones, each field alone and all together.
func queries(c *cancuoc.Citizen) []partner.MatchRequest {
	pin := string(c.PIN)
	var qs []partner.MatchRequest
	one := func(q partner.MatchRequest) { q.PIN = pin; qs = append(qs, q) }
	for _, rule := range []string{"", partner.NameNoDiacritics} {
		for _, name := range []string{c.FullName, norm.NFC.String(c.FullName), norm.NFD.String(c.FullName),
			strings.ToUpper(vntext.Key(c.FullName)), c.FullName + " An", "  " + c.FullName + " "} {
			if name != "" {
				one(partner.MatchRequest{Name: name, NameRule: rule})
			}
		}
	}
	d := c.BirthDate
	for _, s := range []string{d.String(), fmt.Sprint(d.Year), fmt.Sprintf("%04d-%02d", d.Year, d.Month), "1990-05-17", "1991"} {
		if _, err := cancuoc.ParseDate(s); err == nil && s != "" {
			one(partner.MatchRequest{BirthDate: s})
		}
	}
	one(partner.MatchRequest{Sex: "male"})
	one(partner.MatchRequest{Sex: "female"})
	var units []cancuoc.UnitRef
	detail := "số 12"
	if pl := c.CurrentResidence; pl != nil {
		units = append(units, cancuoc.UnitRef{Province: pl.Province, Commune: pl.Commune})
		if pl.Today != nil {
			units = append(units, *pl.Today)
		}
		detail = pl.Detail
	}
	units = append(units, cancuoc.UnitRef{Province: "79", Commune: "26734"}, cancuoc.UnitRef{Province: "01", Commune: "99999"})
	for _, u := range units {
		for _, a := range []partner.AddressQuery{{Province: u.Province}, {Province: u.Province, Commune: u.Commune},
			{Province: u.Province, Commune: u.Commune, Detail: detail}, {Province: u.Province, Detail: strings.ToUpper(vntext.Key(detail))},
			{Province: u.Province, Detail: "thôn khác"}, {Province: u.Province, Detail: "!!"}} {
			if a.Province != "" {
				one(partner.MatchRequest{CurrentAddress: &a})
			}
		}
	}
	for _, k := range c.Cards {
		one(partner.MatchRequest{CardNumber: k.Number})
		one(partner.MatchRequest{CardNumber: " " + k.Number + " "})
	}
	one(partner.MatchRequest{CardNumber: "000000000000"})
	for _, ph := range []string{c.Phone, "+84 912 345 678", "0912345679"} {
		if ph != "" {
			one(partner.MatchRequest{Phone: ph})
		}
	}
	all := partner.MatchRequest{Name: c.FullName, BirthDate: d.String(), Sex: string(c.Sex), CardNumber: pin,
		Phone: "0912345678", NameRule: partner.NameNoDiacritics}
	if d.IsZero() {
		all.BirthDate = "1990"
	}
	if all.Sex == "" {
		all.Sex = "male"
	}
	if len(units) > 0 && units[0].Province != "" {
		all.CurrentAddress = &partner.AddressQuery{Province: units[0].Province, Commune: units[0].Commune}
	}
	one(all)
	return qs
}

// projected returns a match service over st that answers from a loaded
// projection, and the projection.
func projected(t *testing.T, st cancuoc.Store) (*partner.Service, *partner.Projection) {
	t.Helper()
	w := audit.NewWriter(st, 0)
	t.Cleanup(func() { w.Close() })
	svc := partner.New(st, w, partner.WithPolicyCache(0))
	proj := partner.NewProjection(st)
	if err := proj.Load(t.Context(), st); err != nil {
		t.Fatalf("Load: %v", err)
	}
	svc.UseProjection(proj)
	return svc, proj
}

func TestProjectionAnswersAsStore(t *testing.T) { testProjectionAnswersAsStore(t, openSQLite(t)) }
func TestProjectionAnswersAsStorePostgres(t *testing.T) {
	// Checks answer once their log entries commit; the sequencer follows.
	testProjectionAnswersAsStore(t, pgtest.OpenAsync(t, "cancuoc_partner"))
}

func testProjectionAnswersAsStore(t *testing.T, st cancuoc.Store) {
	ctx := t.Context()
	people := seedPopulation(t, st, 120)
	w := audit.NewWriter(st, 0)
	t.Cleanup(func() { w.Close() })
	byStore := partner.New(st, w, partner.WithPolicyCache(0))
	if _, err := byStore.Create(ctx, nil, bank("vcb", cancuoc.Quota{})); err != nil {
		t.Fatal(err)
	}
	byProj, proj := projected(t, st)
	// Everyone is projected but the two records it cannot hold exactly.
	if proj.Len() != len(people)-2 {
		t.Errorf("projection holds %d people, want %d", proj.Len(), len(people)-2)
	}
	if proj.Bytes() <= 0 || proj.Bytes() > int64(proj.Len())*160 {
		t.Errorf("projection of %d people takes %d bytes", proj.Len(), proj.Bytes())
	}
	unknown := storetest.PINFor("001", cancuoc.Female, 1985, 777)
	checks := map[string][2]int{} // field: answers true, false
	var all []partner.MatchRequest
	for _, c := range append(people, &cancuoc.Citizen{PIN: unknown, FullName: "Ai Đó", Sex: cancuoc.Female}) {
		all = append(all, queries(c)...)
	}
	// Many checks at once, so their access-log entries share commits.
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		next = make(chan partner.MatchRequest)
	)
	for range 16 {
		wg.Go(func() {
			for q := range next {
				want, werr := byStore.Match(ctx, "vcb", q)
				got, err := byProj.Match(ctx, "vcb", q)
				mu.Lock()
				switch {
				case werr != nil || err != nil:
					if fmt.Sprint(werr) != fmt.Sprint(err) {
						t.Errorf("check %+v: the projection says %v, the store %v", q, err, werr)
					}
				case !reflect.DeepEqual(got, want):
					t.Errorf("check %+v (address %+v):\nprojection %+v\nstore      %+v", q, q.CurrentAddress, got, want)
				default:
					for f, ok := range want.Fields {
						x := checks[f]
						if ok {
							x[0]++
						} else {
							x[1]++
						}
						checks[f] = x
					}
				}
				mu.Unlock()
			}
		})
	}
	for _, q := range all {
		next <- q
	}
	close(next)
	wg.Wait()
	n := len(all)
	for _, f := range []string{"name", "birth_date", "sex", "current_address", "card_number", "phone"} {
		if x := checks[f]; x[0] == 0 || x[1] == 0 {
			t.Errorf("field %s answered true %d and false %d times: the population does not test it", f, x[0], x[1])
		}
	}
	t.Logf("%d checks of %d people agree", n, len(people))
}

// TestProjectionFollowsEvents changes citizens (a death, a new card, a
// move, a birth) as the registry does, with an event in the same
// transaction, and waits for the dispatcher to bring the projection up to
// date: event by event (Handle), and with each batch's records read
// together (Prepare), as the server subscribes it.
func TestProjectionFollowsEvents(t *testing.T) {
	t.Run("handle", func(t *testing.T) { testProjectionFollowsEvents(t, openSQLite(t), false) })
	t.Run("prepared", func(t *testing.T) { testProjectionFollowsEvents(t, openSQLite(t), true) })
}

func TestProjectionFollowsEventsPostgres(t *testing.T) {
	t.Run("handle", func(t *testing.T) { testProjectionFollowsEvents(t, pgtest.Open(t, "cancuoc_partner"), false) })
	t.Run("prepared", func(t *testing.T) { testProjectionFollowsEvents(t, pgtest.Open(t, "cancuoc_partner"), true) })
}

func testProjectionFollowsEvents(t *testing.T, st cancuoc.Store, prepared bool) {
	ctx := t.Context()
	people := edgeCases()
	for _, c := range people {
		if err := st.InsertCitizen(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	svc, proj := projected(t, st)
	if _, err := svc.Create(ctx, nil, bank("vcb", cancuoc.Quota{})); err != nil {
		t.Fatal(err)
	}
	d := dispatch.New(st, dispatch.WithPoll(20*time.Millisecond))
	var opts []dispatch.SubscribeOption
	if prepared {
		opts = append(opts, dispatch.PrepareBatch(proj.Prepare))
	}
	d.Subscribe("partner-match-test", nil, proj.Handle, opts...)
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)

	var committed time.Time
	change := func(c *cancuoc.Citizen, event string, f func(c *cancuoc.Citizen)) {
		t.Helper()
		err := st.InTx(ctx, func(tx cancuoc.Tx) error {
			old, err := tx.Citizen(ctx, c.PIN)
			if err != nil {
				return err
			}
			n := old.Clone()
			f(n)
			n.Version = old.Version + 1
			if err := tx.UpdateCitizen(ctx, n, old.Version); err != nil {
				return err
			}
			return tx.AppendEvent(ctx, &cancuoc.Event{ID: fmt.Sprintf("ev-%s-%d", c.PIN, n.Version), Type: event,
				PIN: c.PIN, Version: n.Version, Actor: "test", At: time.Now()})
		})
		if err != nil {
			t.Fatal(err)
		}
		committed = time.Now()
		d.Notify()
	}
	// eventually waits until the projection's answer to q is want.
	// (The time from the commit to the answer is logged, not judged: the
	// dispatch delay is measured in bench/, on an idle machine.)
	eventually := func(what string, q partner.MatchRequest, want func(r *partner.MatchResult) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			r, err := svc.Match(ctx, "vcb", q)
			if err != nil {
				t.Fatal(err)
			}
			if want(r) {
				t.Logf("%s: answered %v after the commit", what, time.Since(committed).Round(time.Microsecond))
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the projection still answers %+v", what, r)
			}
			time.Sleep(200 * time.Microsecond)
		}
	}
	c := people[0]
	pin := string(c.PIN)
	q := partner.MatchRequest{PIN: pin, CardNumber: pin, CurrentAddress: &partner.AddressQuery{Province: "79", Commune: "26734"}}
	if r, err := svc.Match(ctx, "vcb", q); err != nil || !r.Match || r.LifeStatus != cancuoc.Alive {
		t.Fatalf("before the changes: %+v, %v", r, err)
	}

	change(c, cancuoc.EventCitizenDied, func(c *cancuoc.Citizen) { c.LifeStatus = cancuoc.Dead })
	eventually("death", q, func(r *partner.MatchResult) bool { return r.LifeStatus == cancuoc.Dead })

	newCard := "001090009999"
	change(c, cancuoc.EventCitizenUpdated, func(c *cancuoc.Citizen) {
		for i := range c.Cards {
			if c.Cards[i].Status == cancuoc.CardValid {
				c.Cards[i].Status = cancuoc.CardReplaced
			}
		}
		c.Cards = append(c.Cards, cancuoc.Card{Number: newCard, Kind: "can_cuoc", Status: cancuoc.CardValid})
	})
	eventually("new card", partner.MatchRequest{PIN: pin, CardNumber: newCard}, func(r *partner.MatchResult) bool { return r.Match })
	if r, _ := svc.Match(ctx, "vcb", q); r.Fields["card_number"] {
		t.Errorf("the replaced card still matches: %+v", r)
	}

	change(c, cancuoc.EventCitizenUpdated, func(c *cancuoc.Citizen) {
		c.CurrentResidence = &cancuoc.Place{Era: cancuoc.Era34, Province: "01", Commune: "00004", Detail: "số 3 Tràng Tiền"}
	})
	eventually("move", partner.MatchRequest{PIN: pin, CurrentAddress: &partner.AddressQuery{Province: "01", Commune: "00004", Detail: "so 3 trang tien"}},
		func(r *partner.MatchResult) bool { return r.Match })

	// A birth: a new PIN, projected once its event is handled.
	before := proj.Len()
	born := storetest.Citizen(storetest.PINFor("001", cancuoc.Female, 2026, 5))
	err := st.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.InsertCitizen(ctx, born); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, &cancuoc.Event{ID: "ev-born", Type: cancuoc.EventCitizenBorn, PIN: born.PIN, Version: 1,
			Actor: "test", At: time.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	d.Notify()
	deadline := time.Now().Add(10 * time.Second)
	for proj.Len() != before+1 {
		if time.Now().After(deadline) {
			t.Fatalf("the birth was not projected: %d people, want %d", proj.Len(), before+1)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A late or repeated event changes nothing: the entry keeps its version.
	if err := proj.Handle(ctx, cancuoc.Event{PIN: c.PIN, Type: cancuoc.EventCitizenUpdated, Seq: proj.Seq() + 1000}); err != nil {
		t.Fatal(err)
	}
	eventually("repeat", partner.MatchRequest{PIN: pin, CardNumber: newCard}, func(r *partner.MatchResult) bool { return r.Match && r.LifeStatus == cancuoc.Dead })
}

// TestProjectionFallsBack: before Load, and for PINs it does not hold,
// checks read the store.
func TestProjectionFallsBack(t *testing.T) {
	st := openSQLite(t)
	ctx := t.Context()
	c := storetest.Citizen(storetest.PIN(1))
	if err := st.InsertCitizen(ctx, c); err != nil {
		t.Fatal(err)
	}
	w := audit.NewWriter(st, 0)
	t.Cleanup(func() { w.Close() })
	svc := partner.New(st, w, partner.WithPolicyCache(0))
	if _, err := svc.Create(ctx, nil, bank("vcb", cancuoc.Quota{})); err != nil {
		t.Fatal(err)
	}
	proj := partner.NewProjection(st)
	svc.UseProjection(proj)
	q := partner.MatchRequest{PIN: string(c.PIN), Name: c.FullName}
	if r, err := svc.Match(ctx, "vcb", q); err != nil || !r.Match {
		t.Fatalf("before Load: %+v, %v", r, err)
	}
	// A handler call before the load waits for it (or its context).
	hctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := proj.Handle(hctx, cancuoc.Event{PIN: c.PIN, Seq: 1}); err == nil {
		t.Error("Handle before Load returned nil; it must wait")
	}
	if err := proj.Load(ctx, st); err != nil {
		t.Fatal(err)
	}
	late := storetest.Citizen(storetest.PIN(2)) // imported without an event
	if err := st.InsertCitizen(ctx, late); err != nil {
		t.Fatal(err)
	}
	if r, err := svc.Match(ctx, "vcb", partner.MatchRequest{PIN: string(late.PIN), Name: late.FullName}); err != nil || !r.Found || !r.Match {
		t.Fatalf("a PIN the projection has not seen: %+v, %v", r, err)
	}
	if proj.Len() != 1 {
		t.Errorf("projection holds %d, want 1", proj.Len())
	}
}

// TestProjectionSkipsProcedureEvents: a procedure's events name the
// applicant but change no record (the registry's own event does), so the
// projection does not re-read the citizen for them; a registry event does.
func TestProjectionSkipsProcedureEvents(t *testing.T) {
	st := openSQLite(t)
	ctx := t.Context()
	proj := partner.NewProjection(st)
	if err := proj.Load(ctx, st); err != nil {
		t.Fatal(err)
	}
	c := storetest.Citizen(storetest.PIN(3)) // written without an event, as a bulk import does
	if err := st.InsertCitizen(ctx, c); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"procedure.submitted", "procedure.step_completed", "procedure.completed"} {
		if err := proj.Handle(ctx, cancuoc.Event{PIN: c.PIN, Type: typ, Seq: proj.Seq() + 1}); err != nil {
			t.Fatal(err)
		}
	}
	if proj.Len() != 0 {
		t.Fatalf("after procedure events the projection holds %d, want 0 (they change no record)", proj.Len())
	}
	// A version that changed none of the view's fields (a parent's new
	// child, a newborn's household) is not read either.
	for _, fields := range []string{`{"fields":["children"]}`, `{"fields":["household_id","permanent_residence"]}`} {
		if err := proj.Handle(ctx, cancuoc.Event{PIN: c.PIN, Type: cancuoc.EventCitizenUpdated, Seq: proj.Seq() + 2, Data: []byte(fields)}); err != nil {
			t.Fatal(err)
		}
	}
	if proj.Len() != 0 {
		t.Fatalf("after updates of fields outside the view the projection holds %d, want 0", proj.Len())
	}
	for i, data := range []string{`{"fields":["household_id","current_residence"]}`, ``, `{"fields":["*"]}`} {
		d := storetest.Citizen(storetest.PIN(10 + i))
		if err := st.InsertCitizen(ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := proj.Handle(ctx, cancuoc.Event{PIN: d.PIN, Type: cancuoc.EventCitizenUpdated, Seq: proj.Seq() + 3, Data: []byte(data)}); err != nil {
			t.Fatal(err)
		}
		if proj.Len() != i+1 {
			t.Fatalf("after a registry event with data %q the projection holds %d, want %d", data, proj.Len(), i+1)
		}
	}
}
