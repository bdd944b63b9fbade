package stats

import (
	"context"
	"time"

	"github.com/cancuoc/cancuoc"
)

// Snapshots: every period, each measure's national figures (the country's
// total and each province's) are stored (migration 00014), so that the
// dashboard draws how a measure moved over time even where the measure
// itself has no dated trend (population, cards held, a measure registered
// by another capability). A measure registered later gets its first point
// at the next snapshot.

// WithSnapshots keeps and reads snapshots in st; without it Figures carry
// no history.
func WithSnapshots(st cancuoc.SnapshotStore) Option { return func(s *Service) { s.snaps = st } }

// HistorySpan is how far back Figures' history goes.
const HistorySpan = 2 * 365 * 24 * time.Hour

// Snapshot stores every measure's national figures (as served, so at most
// a refresh old; counted now if none are kept) with their total and
// province values, all measures' points together. A measure whose
// count fails is left out (and its error returned after the others are
// stored).
func (s *Service) Snapshot(ctx context.Context) error {
	const op = "stats.Snapshot"
	if s.snaps == nil {
		return nil
	}
	var points []cancuoc.SnapshotPoint
	var failed error
	s.mu.Lock()
	measures := append([]Measure(nil), s.measures...)
	s.mu.Unlock()
	for _, m := range measures {
		// The figures served (at most a refresh old) rather than a count
		// of its own: the cards count reads every record, once is enough.
		f, err := s.Figures(ctx, m.Info().ID, "")
		if err != nil {
			failed = err
			continue
		}
		points = append(points, snapshotPoints(f)...)
	}
	if len(points) > 0 {
		if err := s.snaps.SaveSnapshot(ctx, points); err != nil {
			return cancuoc.WithOp(op, err)
		}
	}
	return failed
}

// snapshotPoints are a national figures' points: the total as unit "",
// each province by its code (the row of people whose province is not
// determined, also coded "", is in the total only).
func snapshotPoints(f *Figures) []cancuoc.SnapshotPoint {
	at := f.AsOf
	out := []cancuoc.SnapshotPoint{{Measure: f.Measure, Unit: "", At: at, Value: f.Total.Value}}
	for _, r := range f.Rows {
		if r.Code != "" {
			out = append(out, cancuoc.SnapshotPoint{Measure: f.Measure, Unit: r.Code, At: at, Value: r.Value})
		}
	}
	return out
}

// RunSnapshots takes a snapshot when the last one is older than every (or
// there is none), then every period, until ctx ends. Several nodes may
// run it: points of the same second replace each other.
func (s *Service) RunSnapshots(ctx context.Context, every time.Duration, done func(error)) {
	if s.snaps == nil {
		return
	}
	wait := time.Duration(0)
	if ms := s.Measures(); len(ms) > 0 {
		if pts, err := s.snaps.Snapshots(ctx, ms[0].ID, "", s.now().Add(-every)); err == nil && len(pts) > 0 {
			wait = pts[len(pts)-1].At.Add(every).Sub(s.now())
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(max(wait, 0)):
		}
		err := s.Snapshot(ctx)
		if done != nil {
			done(err)
		}
		wait = every
	}
}

// history reads the stored points of a figures' area (the country, or the
// province of a commune page).
func (s *Service) history(ctx context.Context, f *Figures) error {
	if s.snaps == nil {
		return nil
	}
	pts, err := s.snaps.Snapshots(ctx, f.Measure, f.Province, s.now().Add(-HistorySpan))
	if err != nil {
		return err
	}
	f.History = pts
	return nil
}
