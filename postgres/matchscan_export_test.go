package postgres

// For TestScanMatchRecordsRawFormats and TestScanMatchRecordsParallel
// (package postgres_test).
var (
	RawMatchFormats = rawMatchFormats
	MatchScanSQL    = matchScanSQL
	DocPrefix       = docPrefix
	ParallelScanSQL = parallelScanSQL
)
