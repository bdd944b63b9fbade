package reconcile

import (
	"context"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/stats"
)

// PartnerResults is the dashboard's source of reconciliation results per
// partner (stats.Service.SetPartnerResults): the done jobs' outcome counts
// summed per owner by the store, grouped into the seeds' columns, with the
// partner's name from the partners store. Jobs whose owner is no partner
// (officers, the console) are gathered in one row whose Partner is "": a
// principal's ID is not published.
func PartnerResults(st cancuoc.ReconcileTotalsStore, partners cancuoc.PartnerStore) stats.PartnerSource {
	return func(ctx context.Context) ([]stats.PartnerResult, error) {
		totals, err := st.ReconciliationTotals(ctx)
		if err != nil {
			return nil, err
		}
		ps, err := partners.Partners(ctx)
		if err != nil {
			return nil, err
		}
		names := make(map[string]string, len(ps))
		for _, p := range ps {
			names[p.ID] = p.Name
		}
		var out []stats.PartnerResult
		others := stats.PartnerResult{Name: stats.Label{VI: "Cán bộ và hệ thống (không phải đối tác)", EN: "Officers and console (not partners)"}}
		for _, t := range totals {
			name, ok := names[t.Owner]
			if !ok {
				addResult(&others, t)
				continue
			}
			r := stats.PartnerResult{Partner: t.Owner, Name: stats.Label{VI: name, EN: name}}
			addResult(&r, t)
			out = append(out, r)
		}
		if others.Jobs > 0 {
			out = append(out, others)
		}
		return out, nil
	}
}

// addResult adds an owner's totals to a row, outcome by outcome; every
// outcome lands in exactly one column, so the columns add up to Records.
func addResult(r *stats.PartnerResult, t cancuoc.ReconciliationTotal) {
	c := t.Counts
	r.Jobs += t.Jobs
	var records int64
	for _, o := range Outcomes {
		records += c[o]
	}
	matched := c[Matched] + c[CandidateFound]
	notFound := c[PINUnknown] + c[NoCandidate]
	deceased := c[Deceased] + c[MissingPerson]
	r.Records += records
	r.Matched += matched
	r.Differences += c[MatchedDiff]
	r.NotFound += notFound
	r.Deceased += deceased
	r.Other += records - matched - c[MatchedDiff] - notFound - deceased
}
