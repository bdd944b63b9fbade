package cancuoc

import "context"

// DocumentCount is one row of CountDocuments.
type DocumentCount struct {
	Province string `json:"province"`
	Commune  string `json:"commune,omitempty"`
	Type     string `json:"type"`
	Count    int64  `json:"count"`
}

// DocumentStatsStore counts the wallet documents issued, for the
// dashboard: aggregates only, grouped like StatsStore by the holder's home
// unit (by province, or by commune within one province).
type DocumentStatsStore interface {
	// CountDocuments counts documents issued (whatever their status now)
	// by type and the holder's home unit.
	CountDocuments(ctx context.Context, province string) ([]DocumentCount, error)
	// DocumentsIssued counts documents by month of issue ("2026-07", UTC).
	DocumentsIssued(ctx context.Context, province string) ([]PeriodCount, error)
}
