package stats

import (
	"context"
	"time"

	"github.com/cancuoc/cancuoc"
)

// PartnerResult is one partner's reconciliation results summed over its
// finished jobs, like the seeds' "the transport ministry reconciled 35.1 of
// 36.2 million driver licences": counts per institution, no personal data.
type PartnerResult struct {
	// Partner is the partner's ID; "" gathers the jobs of officers and of
	// the console, which are no partner's.
	Partner     string `json:"partner"`
	Name        Label  `json:"name"`
	Jobs        int64  `json:"jobs"`
	Records     int64  `json:"records"` // every outcome, duplicates not counted twice
	Matched     int64  `json:"matched"` // found and agreeing (by PIN, or the one candidate)
	Differences int64  `json:"matched_with_differences"`
	NotFound    int64  `json:"not_found"` // PIN unknown, or nobody fits
	Deceased    int64  `json:"deceased_or_missing"`
	Other       int64  `json:"other"` // invalid PIN, ambiguous, too little data, unreadable
	// Share is (Matched + Differences) / Records, 0 to 1.
	Share float64 `json:"match_share"`
}

// PartnerResults is the dashboard's reconciliation results per partner.
type PartnerResults struct {
	Partners []PartnerResult `json:"partners"`
	Total    PartnerResult   `json:"total"`
	AsOf     time.Time       `json:"as_of"`
}

// PartnerSource computes the results per partner (see reconcile).
type PartnerSource func(ctx context.Context) ([]PartnerResult, error)

// SetPartnerResults gives the service the reconciliation results per
// partner, answered by PartnerResults with the figures' freshness.
func (s *Service) SetPartnerResults(src PartnerSource) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partnerSrc, s.partners = src, nil
}

// HasPartnerResults tells whether SetPartnerResults was called.
func (s *Service) HasPartnerResults() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.partnerSrc != nil
}

var errNoPartnerResults = cancuoc.E(cancuoc.NotFound, "stats.PartnerResults", "partner_results_unavailable",
	"Máy chủ này không công bố kết quả đối soát theo đối tác.", "This server does not publish reconciliation results per partner.")

// PartnerResults answers the results per partner, cached like the figures
// (counted again once older than the TTL; the stale answer is served while
// a background count runs).
func (s *Service) PartnerResults(ctx context.Context) (*PartnerResults, error) {
	s.mu.Lock()
	src, c := s.partnerSrc, s.partners
	if src == nil {
		s.mu.Unlock()
		return nil, errNoPartnerResults
	}
	if c != nil && s.ttl > 0 && s.now().Sub(c.AsOf) >= s.ttl && !s.partnersRefreshing {
		s.partnersRefreshing = true
		go s.refreshPartners(src)
	}
	s.mu.Unlock()
	if c != nil && s.ttl > 0 {
		return c, nil
	}
	return s.countPartners(ctx, src)
}

func (s *Service) refreshPartners(src PartnerSource) {
	ctx, cancel := context.WithTimeout(context.Background(), s.refreshTimeout)
	defer cancel()
	_, _ = s.countPartners(ctx, src) // on failure the old answer stays
	s.mu.Lock()
	s.partnersRefreshing = false
	s.mu.Unlock()
}

// countPartners computes the results and their total, and caches them.
func (s *Service) countPartners(ctx context.Context, src PartnerSource) (*PartnerResults, error) {
	now := s.now().UTC().Truncate(time.Second)
	rows, err := src(ctx)
	if err != nil {
		return nil, cancuoc.WithOp("stats.PartnerResults", err)
	}
	p := &PartnerResults{Partners: make([]PartnerResult, 0, len(rows)), AsOf: now,
		Total: PartnerResult{Name: Label{"Tổng", "Total"}}}
	for _, r := range rows {
		r.Share = share(r.Matched+r.Differences, r.Records)
		p.Partners = append(p.Partners, r)
		t := &p.Total
		t.Jobs += r.Jobs
		t.Records += r.Records
		t.Matched += r.Matched
		t.Differences += r.Differences
		t.NotFound += r.NotFound
		t.Deceased += r.Deceased
		t.Other += r.Other
	}
	p.Total.Share = share(p.Total.Matched+p.Total.Differences, p.Total.Records)
	s.mu.Lock()
	if s.partnerSrc != nil && s.ttl > 0 {
		s.partners = p
	}
	s.mu.Unlock()
	return p, nil
}

func share(n, of int64) float64 {
	if of <= 0 {
		return 0
	}
	return float64(n) / float64(of)
}
