package partner

import (
	"context"
	"errors"
	"github.com/cancuoc/cancuoc/internal/json"
	"hash/maphash"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/vntext"
)

// Projection is a node's live in-memory copy of exactly what a match check
// compares, for every citizen: 64-bit hashes of the cleaned name, of its
// diacritic-free key, of the current address's detail key, of the phone
// number in national form and of the one valid card number; the birth
// date; the sex and life status; the current address's unit in today's
// units. It is 56 bytes of data per person, about 150 with the maps that
// hold them (Bytes),
// loaded by one streaming scan of the registry (Load) and kept current by
// the registry's outbox events (Handle, with Prepare reading a batch's
// citizens at once): each event re-reads its citizen
// and replaces the entry, keeping the highest version, so events delivered
// twice or late change nothing.
//
// A record the projection cannot hold exactly (more than one valid card,
// codes outside the registry's formats, an unknown sex or life status) is
// left out, as is a PIN it has not seen (a bulk import writes no event per
// citizen): the check then reads the store, so every answer is the one the
// store read gives. Two different values have the same 64-bit hash with a
// probability of about 2⁻⁶⁴ per comparison.
type Projection struct {
	store  cancuoc.CitizenStore
	seed   maphash.Seed
	shards [projShards]projShard
	ready  chan struct{} // closed when loaded
	loaded atomic.Bool
	seq    int64 // the outbox Seq of the load's snapshot; set before ready closes
	count  atomic.Int64
}

const projShards = 256

type projShard struct {
	mu sync.RWMutex
	m  map[uint64]projEntry
	_  [40]byte // keep shards on their own cache lines
}

// projEntry is one person. A zero hash means "none" (no name, no phone…).
type projEntry struct {
	exact, folded uint64 // CleanName, Key of the full name
	detail        uint64 // Key of the current address's detail
	phone         uint64 // normPhone of the phone
	card          uint64 // the valid card's number, when hasCard
	version       uint32
	unit          uint32 // packUnit of the current address in today's units; 0 none
	year          uint16
	month, day    uint8
	sex, status   uint8
	hasCard       bool
}

// Sexes and life statuses as the projection keeps them; a value not in
// these lists is not projected.
var (
	projSexes    = []cancuoc.Sex{"", cancuoc.Male, cancuoc.Female}
	projStatuses = []cancuoc.LifeStatus{"", cancuoc.Alive, cancuoc.Dead, cancuoc.Missing}
)

// NewProjection returns an empty projection over store (re-read on each
// event). Checks fall back to the store until Load has finished.
func NewProjection(store cancuoc.CitizenStore) *Projection {
	p := &Projection{store: store, seed: maphash.MakeSeed(), ready: make(chan struct{})}
	for i := range p.shards {
		p.shards[i].m = map[uint64]projEntry{}
	}
	return p
}

// Load fills the projection by one scan of the registry and marks it
// ready. Called once; an error leaves the projection unloaded (checks keep
// reading the store) and may be retried by calling Load again.
func (p *Projection) Load(ctx context.Context, scanner cancuoc.CitizenDocScanner) error {
	if p.loaded.Load() {
		return errors.New("partner: the match projection is already loaded")
	}
	var v matchView
	seq, err := scanner.ScanCitizenDocs(ctx, 10000, func(docs []cancuoc.CitizenDoc) error {
		for i := range docs {
			v = matchView{}
			if err := json.Unmarshal(docs[i].JSON, &v); err != nil {
				return err
			}
			p.put(docs[i].PIN, docs[i].Version, &v)
		}
		return nil
	})
	if err != nil {
		for i := range p.shards { // a retry starts afresh
			s := &p.shards[i]
			s.mu.Lock()
			s.m = map[uint64]projEntry{}
			s.mu.Unlock()
		}
		p.count.Store(0)
		return err
	}
	p.seq = seq
	p.loaded.Store(true)
	close(p.ready)
	return nil
}

// Ready reports whether Load has finished.
func (p *Projection) Ready() bool { return p.loaded.Load() }

// Seq is the outbox Seq of the load's snapshot (0 before).
func (p *Projection) Seq() int64 {
	if !p.loaded.Load() {
		return 0
	}
	return p.seq
}

// Len is the number of people held.
func (p *Projection) Len() int { return int(p.count.Load()) }

// Bytes is an upper estimate of the memory the projection holds: each map
// slot is a key, an entry and a control byte (65 bytes), and Go's maps
// keep groups of 8 slots at most 7/8 full and double when they grow, so
// 1.15 to 2.3 slots per person; counted at the most. A million people
// measured 151 bytes each (TestProjectionMemory): 1.5 GB for 10 million.
func (p *Projection) Bytes() int64 {
	slot := int64(8 + unsafe.Sizeof(projEntry{}) + 1)
	return int64(float64(p.count.Load()) * float64(slot) * 2.3)
}

// Handle is the projection's event handler (dispatch.Handler): an event
// about a citizen re-reads that citizen and replaces the entry (the
// interlinked procedures' events excepted: they change no record). It waits
// for the load, so nothing is applied to a half-built projection, and
// skips the events the load's snapshot already holds. Idempotent: a
// second delivery reads the same record again.
func (p *Projection) Handle(ctx context.Context, e cancuoc.Event) error {
	if !mayChange(&e) {
		return nil
	}
	select {
	case <-p.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	if p.held(&e) {
		return nil
	}
	return p.Refresh(ctx, e.PIN)
}

// Prepare reads the records of the citizens a batch of events changes in
// one query, and returns Handle for the batch with them in place of a
// read per event (dispatch.PrepareBatch): a birth's record was one round
// trip of its own. Each record is read after its events' commits, so at
// least at their version, and put keeps the highest; the projection
// changes none of what it reads. Before the load, Handle (which waits).
func (p *Projection) Prepare(ctx context.Context, evs []cancuoc.Event) (func(context.Context, cancuoc.Event) error, error) {
	if !p.loaded.Load() {
		return p.Handle, nil
	}
	read := map[cancuoc.PIN]*cancuoc.CitizenDoc{} // nil: no such record
	var pins []cancuoc.PIN
	for i := range evs {
		e := &evs[i]
		if _, dup := read[e.PIN]; !dup && mayChange(e) && !p.held(e) {
			pins = append(pins, e.PIN)
			read[e.PIN] = nil
		}
	}
	if len(pins) == 0 {
		return p.Handle, nil
	}
	docs, err := p.store.CitizenDocs(ctx, pins)
	if err != nil {
		return nil, cancuoc.WithOp("partner.Projection.Prepare", err)
	}
	for _, d := range docs {
		read[d.PIN] = d
	}
	return func(ctx context.Context, e cancuoc.Event) error {
		if doc, ok := read[e.PIN]; ok && mayChange(&e) && !p.held(&e) {
			return p.apply(e.PIN, doc)
		}
		return p.Handle(ctx, e)
	}, nil
}

// mayChange tells whether e may change a citizen's entry.
func mayChange(e *cancuoc.Event) bool {
	if e.PIN == "" {
		return false // a bulk import: its new citizens are read from the store until their first event
	}
	if strings.HasPrefix(e.Type, workflowEvents) {
		// About a citizen (the applicant) but no change of a record: a
		// procedure changes records only through the registry, whose own
		// event follows in the same transaction. A birth file has a dozen
		// of these, and each was a read and a decode of the record.
		return false
	}
	// The registry names the fields a version changed (never their
	// values): a parent's new child, a newborn's household or health card
	// leave the match view as it is, and each re-read was a read and a
	// decode of the whole record. The entry keeps its older version
	// number, which only ever orders re-reads, and a re-read takes the
	// record as it is now.
	return e.MayHaveChangedAny(viewFields...)
}

// held tells whether the load's snapshot holds e's change; only once
// loaded.
func (p *Projection) held(e *cancuoc.Event) bool { return e.Seq != 0 && e.Seq <= p.seq }

// viewFields are the record's fields the match view holds (matchView's
// JSON names).
var viewFields = []string{"full_name", "birth_date", "sex", "current_residence", "cards", "phone", "life_status"}

// workflowEvents is the type prefix of the interlinked procedures' events
// (workflow.Event*; named here so that partner does not depend on the
// workflow).
const workflowEvents = "procedure."

// Refresh re-reads one citizen from the store and replaces its entry (or
// removes it if the record is gone).
func (p *Projection) Refresh(ctx context.Context, pin cancuoc.PIN) error {
	doc, err := p.store.CitizenDoc(ctx, pin)
	if errors.Is(err, cancuoc.ErrNotFound) {
		return p.apply(pin, nil)
	}
	if err != nil {
		return err
	}
	return p.apply(pin, doc)
}

// apply replaces pin's entry with the record doc (nil: none, the entry
// goes).
func (p *Projection) apply(pin cancuoc.PIN, doc *cancuoc.CitizenDoc) error {
	if doc == nil {
		p.remove(pin)
		return nil
	}
	var v matchView
	if err := json.Unmarshal(doc.JSON, &v); err != nil {
		return err
	}
	p.put(pin, doc.Version, &v)
	return nil
}

func pinKey(pin cancuoc.PIN) (uint64, bool) {
	if len(pin) != 12 {
		return 0, false
	}
	k, err := strconv.ParseUint(string(pin), 10, 64)
	return k, err == nil
}

func (p *Projection) shard(k uint64) *projShard {
	return &p.shards[(k^k>>17)*0x9e3779b97f4a7c15>>56]
}

// hash is a nonzero hash of a non-empty s; 0 for "".
func (p *Projection) hash(s string) uint64 {
	if s == "" {
		return 0
	}
	return maphash.String(p.seed, s) | 1
}

// put replaces pin's entry with v at version, unless a newer version is
// held. A record the projection cannot hold exactly removes the entry.
func (p *Projection) put(pin cancuoc.PIN, version int64, v *matchView) {
	k, ok := pinKey(pin)
	if !ok {
		return
	}
	e, ok := p.entry(version, v)
	s := p.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	old, had := s.m[k]
	if had && int64(old.version) > version {
		return
	}
	switch {
	case ok:
		s.m[k] = e
		if !had {
			p.count.Add(1)
		}
	case had:
		delete(s.m, k)
		p.count.Add(-1)
	}
}

func (p *Projection) remove(pin cancuoc.PIN) {
	k, ok := pinKey(pin)
	if !ok {
		return
	}
	s := p.shard(k)
	s.mu.Lock()
	if _, had := s.m[k]; had {
		delete(s.m, k)
		p.count.Add(-1)
	}
	s.mu.Unlock()
}

// entry computes the projected fields of v; false if v holds something the
// entry cannot represent exactly.
func (p *Projection) entry(version int64, v *matchView) (projEntry, bool) {
	e := projEntry{exact: p.hash(vntext.CleanName(v.FullName)), folded: p.hash(vntext.Key(v.FullName))}
	if version < 0 || version > 1<<32-1 {
		return e, false
	}
	e.version = uint32(version)
	d := v.BirthDate
	if d.Year < 0 || d.Year > 0xffff || d.Month < 0 || d.Month > 0xff || d.Day < 0 || d.Day > 0xff {
		return e, false
	}
	e.year, e.month, e.day = uint16(d.Year), uint8(d.Month), uint8(d.Day)
	var ok bool
	if e.sex, ok = index(projSexes, v.Sex); !ok {
		return e, false
	}
	if e.status, ok = index(projStatuses, v.LifeStatus); !ok {
		return e, false
	}
	if pl := v.CurrentResidence; pl != nil {
		u := cancuoc.UnitRef{Province: pl.Province, Commune: pl.Commune}
		if pl.Era == cancuoc.Era63 {
			u = cancuoc.UnitRef{} // none, unless derived
			if pl.Today != nil {
				u = *pl.Today
			}
		}
		// A check always names a province, so a unit without one (an
		// address abroad) never matches: kept as none.
		if u.Province != "" {
			if e.unit, ok = packUnit(u.Province, u.Commune); !ok {
				return e, false
			}
		}
		e.detail = p.hash(vntext.Key(pl.Detail))
	}
	for _, c := range v.Cards {
		if c.Status != cancuoc.CardValid {
			continue
		}
		if e.hasCard {
			return e, false // more than one valid card: read from the store
		}
		e.hasCard, e.card = true, maphash.String(p.seed, c.Number)
	}
	if v.Phone != "" {
		e.phone = p.hash(normPhone(v.Phone))
	}
	return e, true
}

func index[T comparable](list []T, v T) (uint8, bool) {
	for i, x := range list {
		if x == v {
			return uint8(i), true
		}
	}
	return 0, false
}

// packUnit packs a unit of two-digit province and optional five-digit
// commune codes into a nonzero number; false for any other form.
func packUnit(province, commune string) (uint32, bool) {
	pr, ok := digits(province, 2)
	if !ok {
		return 0, false
	}
	u := uint32(1)<<31 | pr<<24
	if commune != "" {
		c, ok := digits(commune, 5)
		if !ok {
			return 0, false
		}
		u |= 1<<23 | c
	}
	return u, true
}

func digits(s string, n int) (uint32, bool) {
	if len(s) != n {
		return 0, false
	}
	var x uint32
	for i := 0; i < n; i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		x = x*10 + uint32(s[i]-'0')
	}
	return x, true
}

// lookup returns pin's entry, if the projection is loaded and holds it.
func (p *Projection) lookup(pin cancuoc.PIN) (projEntry, bool) {
	if p == nil || !p.loaded.Load() {
		return projEntry{}, false
	}
	k, ok := pinKey(pin)
	if !ok {
		return projEntry{}, false
	}
	s := p.shard(k)
	s.mu.RLock()
	e, ok := s.m[k]
	s.mu.RUnlock()
	return e, ok
}

// compareEntry answers one field of the check from a projected entry, as
// compare does from the record.
func (m *parsedMatch) compareEntry(p *Projection, field string, e *projEntry) bool {
	switch field {
	case "name":
		switch m.rule {
		case vntext.NameExact:
			return e.exact != 0 && p.hash(vntext.CleanName(m.Name)) == e.exact
		case vntext.NameFolded:
			return e.folded != 0 && p.hash(vntext.Key(m.Name)) == e.folded
		}
		return false
	case "birth_date":
		return e.year != 0 && m.birth == cancuoc.Date{Year: int(e.year), Month: int(e.month), Day: int(e.day)}
	case "sex":
		return e.sex != 0 && string(projSexes[e.sex]) == m.Sex
	case "current_address":
		q := m.CurrentAddress
		if e.unit == 0 {
			return false
		}
		pr, ok := digits(q.Province, 2)
		if !ok || e.unit>>24&0x7f != pr {
			return false
		}
		if q.Commune != "" {
			c, ok := digits(q.Commune, 5)
			if !ok || e.unit&(1<<23) == 0 || e.unit&(1<<23-1) != c {
				return false
			}
		}
		return q.Detail == "" || (e.detail != 0 && p.hash(vntext.Key(q.Detail)) == e.detail)
	case "card_number":
		return e.hasCard && maphash.String(p.seed, strings.TrimSpace(m.CardNumber)) == e.card
	case "phone":
		return e.phone != 0 && p.hash(m.phone) == e.phone
	}
	return false
}

// LoadLoop runs Load until it succeeds or ctx ends, waiting longer after
// each failure; report is told of each failure and of the result.
func (p *Projection) LoadLoop(ctx context.Context, scanner cancuoc.CitizenDocScanner, report func(err error, took time.Duration)) {
	wait := time.Second
	for ctx.Err() == nil {
		start := time.Now()
		err := p.Load(ctx, scanner)
		report(err, time.Since(start))
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
}
