package reconcile

import (
	"context"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/stats"
)

// ResultsStore is what PartnerResults reads: the totals, and the partners'
// and principals' names.
type ResultsStore interface {
	cancuoc.ReconcileTotalsStore
	cancuoc.PartnerStore
	cancuoc.PrincipalStore
}

// PartnerResults is the dashboard's source of reconciliation results per
// partner (stats.Service.SetPartnerResults): the done jobs' outcome counts
// summed per owner by the store, grouped into the seeds' columns. A job
// of a partner's system (owner "partner:ID") is the partner's, named from
// the partners store; one of a ministry's system (an institution, like
// the transport ministry) is named from its principal. Jobs of officers
// and of the console are gathered in one row whose Partner is "": a
// person's name or ID is never published.
func PartnerResults(st ResultsStore) stats.PartnerSource {
	return func(ctx context.Context) ([]stats.PartnerResult, error) {
		totals, err := st.ReconciliationTotals(ctx)
		if err != nil {
			return nil, err
		}
		ps, err := st.Partners(ctx)
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
			id, name, ok, err := institution(ctx, st, names, t.Owner)
			if err != nil {
				return nil, err
			}
			if !ok {
				addResult(&others, t)
				continue
			}
			r := stats.PartnerResult{Partner: id, Name: stats.Label{VI: name, EN: name}}
			addResult(&r, t)
			out = append(out, r)
		}
		if others.Jobs > 0 {
			out = append(out, others)
		}
		return out, nil
	}
}

// institution names a job owner that is an institution: a partner, or a
// ministry's system; false for people and the console.
func institution(ctx context.Context, st cancuoc.PrincipalStore, partners map[string]string, owner string) (id, name string, ok bool, err error) {
	if pid, isPartner := cancuoc.PartnerOwner(owner); isPartner {
		name, ok = partners[pid]
		return pid, name, ok, nil
	}
	p, err := st.Principal(ctx, owner)
	if cancuoc.KindOf(err) == cancuoc.NotFound {
		return "", "", false, nil // the console, or a principal since removed
	}
	if err != nil {
		return "", "", false, err
	}
	if p.Role != cancuoc.RoleMinistrySystem {
		return "", "", false, nil // a person
	}
	return p.ID, p.Name, true, nil
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
