package postgres

// For TestScanMatchRecordsRawFormats (package postgres_test).
var (
	RawMatchFormats = rawMatchFormats
	MatchScanSQL    = matchScanSQL
	DocPrefix       = docPrefix
)
