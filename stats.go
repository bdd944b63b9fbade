package cancuoc

import "context"

// StatsStore counts what the national dashboard shows. It returns counts
// only, never a row about a person. Every method groups by the province of
// Home, or, when province is set, by commune within that province (the
// other rows' Commune is empty).
type StatsStore interface {
	// CountAccounts counts citizen eID accounts that are not closed, by
	// level, grouped by the holder's home unit.
	CountAccounts(ctx context.Context, province string) ([]AccountCount, error)
	// AccountsOpened counts citizen eID accounts by the month they were
	// opened ("2026-07", UTC), nationally or in one province.
	AccountsOpened(ctx context.Context, province string) ([]PeriodCount, error)
	// CountCards counts the valid identity cards of living citizens by the
	// holder's year of birth, grouped by home unit.
	CountCards(ctx context.Context, province string) ([]CardCount, error)
	// CardsIssued counts the cards of living citizens by year of issue
	// ("2024"), nationally or in one province; cards of unknown date are
	// left out.
	CardsIssued(ctx context.Context, province string) ([]PeriodCount, error)
	// CountQuality counts, among living citizens, the records an officer
	// should complete: partial date of birth, no ethnicity, no permanent
	// residence, a permanent or current residence recorded in the
	// abolished (63-province) units: the QualityKinds work lists. Grouped
	// by home unit.
	CountQuality(ctx context.Context, province string) ([]QualityCount, error)
}

// QualityCount is one row of CountQuality.
type QualityCount struct {
	Province       string `json:"province"`
	Commune        string `json:"commune,omitempty"`
	PartialBirth   int64  `json:"partial_birth"`
	NoEthnicity    int64  `json:"no_ethnicity"`
	NoResidence    int64  `json:"no_permanent_residence"`
	OldUnitAddress int64  `json:"old_unit_address"`
}

// AccountCount is one row of CountAccounts.
type AccountCount struct {
	Province string       `json:"province"`
	Commune  string       `json:"commune,omitempty"`
	Level    AccountLevel `json:"level"`
	Count    int64        `json:"count"`
}

// CardCount is one row of CountCards.
type CardCount struct {
	Province  string `json:"province"`
	Commune   string `json:"commune,omitempty"`
	BirthYear int    `json:"birth_year"`
	Count     int64  `json:"count"`
}

// PeriodCount is a count in a period (a year "2024" or a month "2024-07"),
// for trends.
type PeriodCount struct {
	Period string `json:"period"`
	Count  int64  `json:"count"`
}
