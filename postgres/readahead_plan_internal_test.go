package postgres

import (
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestReadAheadFilesPlan: the batch settle's read of its files and their
// steps reaches the steps through their key, not by scanning the table,
// on a table the server has no statistics of (never analyzed: autovacuum
// off, or a table that grew since). As a plain join it was a hash join
// over a scan of every step ever written, once per batch.
func TestReadAheadFilesPlan(t *testing.T) {
	url, schema, raw := testSchema(t, "raplan")
	t.Parallel()
	ctx := t.Context()
	st, err := Open(ctx, url, WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	fill := []string{
		`INSERT INTO procedures (id, kind, status, applicant, province, submitted_at, deadline, version, doc)
			SELECT 'f' || g, 'birth', 'open', '001099000001', '01', now(), now(), 1, '{}' FROM generate_series(1, 5000) g`,
		`INSERT INTO procedure_steps (procedure_id, no, agency, status, kind, province, commune, submitted_at, version, doc)
			SELECT 'f' || g, n, 'police', 'completed', 'birth', '01', '00001', now(), 1, '{}'
			FROM generate_series(1, 5000) g, generate_series(1, 3) n`,
	}
	if _, err := raw.Exec(ctx, "SET search_path = "+schema); err != nil {
		t.Fatal(err)
	}
	for _, q := range fill {
		if _, err := raw.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	ids := make([]string, 50)
	for i := range ids {
		ids[i] = fmt.Sprintf("f%d", 1+i*97)
	}
	rows, err := raw.Query(ctx, "EXPLAIN "+readAheadFilesSQL, ids)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(lines, "\n")
	if strings.Contains(text, "Seq Scan on procedure_steps") || !strings.Contains(text, "procedure_steps_pkey") {
		t.Errorf("the read-ahead of files does not reach their steps by key:\n%s", text)
	}
}
