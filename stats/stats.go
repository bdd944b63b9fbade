// Package stats computes the national dashboard's public figures: counts
// per province, or per commune within a province, for a set of measures
// that capabilities register (population, eID accounts, identity cards
// here; procedures, reconciliation and documents add theirs). Figures are
// aggregates only and carry no personal data; they are cached for a short
// while because some need a scan of the registry.
package stats

import (
	"context"
	"github.com/cancuoc/cancuoc/internal/json"
	"slices"
	"sync"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/admin"
)

// Label is a text in Vietnamese and English.
type Label struct {
	VI string `json:"vi"`
	EN string `json:"en"`
}

// Info describes a measure.
type Info struct {
	ID    string `json:"id"`
	Title Label  `json:"title"`
	// Trend names what the trend series counts, when the measure has one.
	Trend *Label `json:"trend,omitempty"`
}

// Counts is what a measure computes for an area: for each unit (a province
// code, or a commune code; "" for people whose commune is not known in
// today's units) one count per column, and a trend over periods.
type Counts struct {
	Columns []Column
	ByUnit  map[string][]int64
	Trend   []cancuoc.PeriodCount
}

// Column is one part of a measure's breakdown (a level, an age group).
type Column struct {
	Key   string `json:"key"`
	Label Label  `json:"label"`
}

// Measure is one figure of the dashboard. Count answers for the whole
// country by province when province is "", or for one province by commune.
type Measure interface {
	Info() Info
	Count(ctx context.Context, province string) (*Counts, error)
}

// Figures is a measure's answer for an area, with every unit of the area
// (zero where nothing is counted), in code order.
type Figures struct {
	Measure  string                `json:"measure"`
	Title    Label                 `json:"title"`
	Province string                `json:"province,omitempty"`
	Columns  []Column              `json:"columns"`
	Rows     []Row                 `json:"rows"`
	Total    Row                   `json:"total"`
	Trend    []cancuoc.PeriodCount `json:"trend"`
	TrendOf  *Label                `json:"trend_of,omitempty"`
	Max      int64                 `json:"max"` // the largest row value, to scale colours
	AsOf     time.Time             `json:"as_of"`
	// MinCount, on a commune page, is the threshold k below which a cell
	// is suppressed (see suppress); 0 when nothing is.
	MinCount int64 `json:"min_count,omitempty"`
	// History is the area's total at each stored snapshot, oldest first
	// (see WithSnapshots); empty without snapshots.
	History []cancuoc.SnapshotPoint `json:"history"`
}

// Row is one unit's figures: Value, the sum of Parts, colours the map.
type Row struct {
	Code   string  `json:"code"`
	Name   string  `json:"name"`
	NameEn string  `json:"name_en"`
	Value  int64   `json:"value"`
	Parts  []int64 `json:"parts"`
	// Suppressed and PartSuppressed mark the value and parts withheld
	// (their numbers are 0 here and null in JSON).
	Suppressed     bool   `json:"suppressed,omitempty"`
	PartSuppressed []bool `json:"parts_suppressed,omitempty"`
}

// MarshalJSON writes a suppressed value or part as null.
func (r Row) MarshalJSON() ([]byte, error) {
	type plain Row
	out := struct {
		plain
		Value *int64   `json:"value"`
		Parts []*int64 `json:"parts"`
	}{plain: plain(r), Parts: make([]*int64, len(r.Parts))}
	if !r.Suppressed {
		out.Value = &r.Value
	}
	for i := range r.Parts {
		if i >= len(r.PartSuppressed) || !r.PartSuppressed[i] {
			out.Parts[i] = &r.Parts[i]
		}
	}
	if !slices.Contains(r.PartSuppressed, true) {
		out.PartSuppressed = nil
	}
	return json.Marshal(out)
}

// Service answers figures for registered measures.
type Service struct {
	minCount       int64
	ttl            time.Duration
	refreshTimeout time.Duration
	now            func() time.Time

	snaps cancuoc.SnapshotStore

	mu       sync.Mutex
	measures []Measure
	cache    map[[2]string]cached

	// The reconciliation results per partner (partners.go).
	partnerSrc         PartnerSource
	partners           *PartnerResults
	partnersRefreshing bool
}

type cached struct {
	f          *Figures
	at         time.Time
	refreshing bool
}

// Option configures a Service.
type Option func(*Service)

// WithTTL sets how long figures are fresh (default one minute): older ones
// are still answered while they are counted again in the background. 0
// counts on every request.
func WithTTL(d time.Duration) Option { return func(s *Service) { s.ttl = d } }

// DefaultMinCount is the smallest commune-level count published.
const DefaultMinCount = 10

// WithMinCount sets k, the smallest count a commune page publishes
// (DefaultMinCount by default; 1 or less publishes every count, for
// figures that are not public, such as the officers' data quality).
func WithMinCount(k int) Option { return func(s *Service) { s.minCount = int64(k) } }

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// New returns a service with no measure; see Register and Builtin.
func New(opts ...Option) *Service {
	s := &Service{minCount: DefaultMinCount, ttl: time.Minute, refreshTimeout: 10 * time.Minute, now: time.Now, cache: map[[2]string]cached{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Register adds a measure; the first registered is the dashboard's
// default. A measure with the ID of one registered replaces it.
func (s *Service) Register(m Measure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := m.Info().ID
	if i := slices.IndexFunc(s.measures, func(x Measure) bool { return x.Info().ID == id }); i >= 0 {
		s.measures[i] = m
	} else {
		s.measures = append(s.measures, m)
	}
	clear(s.cache)
}

// Measures lists the registered measures in order.
func (s *Service) Measures() []Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Info, len(s.measures))
	for i, m := range s.measures {
		out[i] = m.Info()
	}
	return out
}

func (s *Service) measure(id string) Measure {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.measures {
		if m.Info().ID == id {
			return m
		}
	}
	return nil
}

// Figures answers a measure for the country (province "") or for one
// province. NotFound "measure_unknown" or "province_unknown".
func (s *Service) Figures(ctx context.Context, id, province string) (*Figures, error) {
	const op = "stats.Figures"
	m := s.measure(id)
	if m == nil {
		return nil, cancuoc.E(cancuoc.NotFound, op, "measure_unknown",
			"Không có chỉ tiêu thống kê này; xem danh sách tại /v1/stats.", "No such measure; see the list at /v1/stats.")
	}
	if province != "" {
		if _, ok := admin.Current().Province(province); !ok {
			return nil, cancuoc.E(cancuoc.NotFound, op, "province_unknown",
				"Không có tỉnh, thành phố với mã này (mã 2 chữ số của 34 tỉnh, thành phố hiện hành).",
				"No province has this code (the 2-digit code of one of today's 34 provinces).")
		}
	}
	key := [2]string{id, province}
	if s.ttl <= 0 {
		return s.count(ctx, m, province)
	}
	s.mu.Lock()
	c, ok := s.cache[key]
	if ok && s.now().Sub(c.at) >= s.ttl && !c.refreshing {
		// Stale: answer the figures we have and count again in the
		// background, so no visitor waits for a count after the first.
		c.refreshing = true
		s.cache[key] = c
		go s.refresh(key, m, province)
	}
	s.mu.Unlock()
	if ok {
		return c.f, nil
	}
	f, err := s.count(ctx, m, province)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.cache[key] = cached{f: f, at: f.AsOf}
	s.mu.Unlock()
	return f, nil
}

func (s *Service) count(ctx context.Context, m Measure, province string) (*Figures, error) {
	now := s.now()
	counts, err := m.Count(ctx, province)
	if err != nil {
		return nil, cancuoc.WithOp("stats.Figures", err)
	}
	f := assemble(m.Info(), province, counts)
	if province != "" && s.minCount > 1 {
		suppress(f, s.minCount)
	}
	f.AsOf = now.UTC().Truncate(time.Second)
	if err := s.history(ctx, f); err != nil {
		return nil, cancuoc.WithOp("stats.Figures", err)
	}
	return f, nil
}

// refresh counts a stale entry again; on failure the old figures stay and
// the next request tries again.
func (s *Service) refresh(key [2]string, m Measure, province string) {
	ctx, cancel := context.WithTimeout(context.Background(), s.refreshTimeout)
	defer cancel()
	f, err := s.count(ctx, m, province)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cache[key]
	c.refreshing = false
	if err == nil {
		c.f, c.at = f, f.AsOf
	}
	s.cache[key] = c
}

// Warm counts every measure for the whole country in the background, so
// that the dashboard's first visitors after a start do not wait either.
func (s *Service) Warm() {
	for _, info := range s.Measures() {
		go func() { _, _ = s.Figures(context.Background(), info.ID, "") }()
	}
}

// assemble lays counts out over every unit of the area.
func assemble(info Info, province string, c *Counts) *Figures {
	f := &Figures{Measure: info.ID, Title: info.Title, Province: province, Columns: c.Columns,
		Trend: c.Trend, TrendOf: info.Trend, History: []cancuoc.SnapshotPoint{}}
	if f.Trend == nil {
		f.Trend = []cancuoc.PeriodCount{}
	}
	var units []admin.Unit
	if province == "" {
		units = admin.Current().Provinces()
	} else {
		units = admin.Current().Communes(province)
	}
	f.Total = Row{Code: province, Parts: make([]int64, len(c.Columns))}
	add := func(u admin.Unit) {
		r := Row{Code: u.Code, Name: u.Name, NameEn: u.NameEn, Parts: make([]int64, len(c.Columns))}
		copy(r.Parts, c.ByUnit[u.Code])
		for i, v := range r.Parts {
			r.Value += v
			f.Total.Parts[i] += v
		}
		f.Total.Value += r.Value
		f.Max = max(f.Max, r.Value)
		f.Rows = append(f.Rows, r)
	}
	seen := map[string]bool{}
	for _, u := range units {
		add(u)
		seen[u.Code] = true
	}
	// Counted units that are not in today's set: people whose commune is
	// not known in today's units (their old commune was split) are counted
	// in their province only (code ""); any other code is shown as is
	// rather than dropped from the total.
	var extra []string
	for code := range c.ByUnit {
		if !seen[code] {
			extra = append(extra, code)
		}
	}
	slices.Sort(extra)
	for _, code := range extra {
		u := admin.Unit{Code: code, Name: code, NameEn: code}
		switch {
		case code == "" && province == "":
			u.Name, u.NameEn = "Chưa xác định tỉnh, thành phố", "Province not determined"
		case code == "":
			u.Name, u.NameEn = "Chưa xác định xã, phường", "Commune not determined"
		}
		add(u)
	}
	if p, ok := admin.Current().Province(province); ok {
		f.Total.Name, f.Total.NameEn = p.Name, p.NameEn
	} else {
		f.Total.Name, f.Total.NameEn = "Cả nước", "Whole country"
	}
	return f
}
