package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"github.com/cancuoc/cancuoc/internal/json"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/cancuoc/cancuoc"
)

// ScanMatchRecords reads every citizen's match columns in one sequential
// scan inside a REPEATABLE READ, read-only transaction, so all rows come
// from one snapshot. The snapshot is taken by the transaction's first
// statement, which also reads the clock and the highest sequenced event:
// every change committed after the returned time is invisible to the scan,
// and gets its Seq (from the sequencer, in commit order) after it.
func (s *Store) ScanMatchRecords(ctx context.Context, batch int, fn func([]cancuoc.MatchRecord) error) (cancuoc.MatchSnapshot, error) {
	const op = "postgres.ScanMatchRecords"
	if batch <= 0 {
		batch = 10000
	}
	var snap cancuoc.MatchSnapshot
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, snapshotSQL).Scan(&snap.At, &snap.Seq); err != nil {
			return err
		}
		// Let PostgreSQL scan in parallel workers (the heap is the
		// documents', about 1.5 KB a person: 15 GB for a national
		// registry): the planner counts each row a worker passes to the
		// leader as a cost and, with every row returned, never chooses
		// them. The workers read the transaction's snapshot; how many
		// there are is the server's max_parallel_workers_per_gather.
		if _, err := tx.Exec(ctx, parallelScanSQL); err != nil {
			return err
		}
		// The full name lives only in the document. doc->>'full_name'
		// parses the whole document (about 1.4 KB) and makes the scan
		// several times slower, so the scan takes the document's first
		// bytes (as bytes: no character counting) and reads the name from
		// them; the rare document that does not start as the registry
		// writes it (pin, version, full_name) is read properly afterwards.
		rows, err := tx.Query(ctx, matchScanSQL, docPrefix)
		if err != nil {
			return err
		}
		defer rows.Close()
		buf := make([]cancuoc.MatchRecord, 0, batch)
		var later []cancuoc.MatchRecord
		var head []byte
		// Rows are decoded from their wire bytes when the columns come in
		// the binary formats expected (pgx asks for them): the few distinct
		// sexes, statuses and units are then interned rather than
		// allocated per row. Otherwise rows.Scan does it.
		raw := rawMatchFormats(rows.FieldDescriptions())
		in := interner{}
		for rows.Next() {
			var (
				m              cancuoc.MatchRecord
				pin, sex, life string
				y, mo, d       int16
			)
			if vals := rows.RawValues(); raw && len(vals) == 10 && rawOK(vals) {
				pin, head, m.NameKey = string(vals[0]), vals[1], string(vals[2])
				y, mo, d = int16(binary.BigEndian.Uint16(vals[3])), int16(binary.BigEndian.Uint16(vals[4])),
					int16(binary.BigEndian.Uint16(vals[5]))
				sex, life, m.Home.Province, m.Home.Commune = in.str(vals[6]), in.str(vals[7]), in.str(vals[8]), in.str(vals[9])
			} else if err := rows.Scan(&pin, &head, &m.NameKey, &y, &mo, &d, &sex, &life, &m.Home.Province,
				&m.Home.Commune); err != nil {
				return err
			}
			m.PIN, m.Sex, m.LifeStatus = cancuoc.PIN(pin), cancuoc.Sex(sex), cancuoc.LifeStatus(life)
			m.BirthDate = cancuoc.Date{Year: int(y), Month: int(mo), Day: int(d)}
			name, ok := leadingName(head, pin)
			if !ok {
				later = append(later, m)
				continue
			}
			m.FullName = name
			if buf = append(buf, m); len(buf) == batch {
				if err := fn(buf); err != nil {
					return callerErr{err}
				}
				buf = buf[:0]
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		if err := fullNames(ctx, tx, later); err != nil {
			return err
		}
		for len(later) > 0 {
			n := min(batch-len(buf), len(later))
			buf, later = append(buf, later[:n]...), later[n:]
			if len(buf) == batch {
				if err := fn(buf); err != nil {
					return callerErr{err}
				}
				buf = buf[:0]
			}
		}
		if len(buf) > 0 {
			if err := fn(buf); err != nil {
				return callerErr{err}
			}
		}
		return nil
	})
	if ce, ok := err.(callerErr); ok {
		return cancuoc.MatchSnapshot{}, ce.err
	}
	if err != nil {
		return cancuoc.MatchSnapshot{}, dbErr(op, err)
	}
	snap.At = ts(snap.At)
	return snap, nil
}

// snapshotSQL reads, as a transaction's first statement (which takes its
// snapshot), the clock and the highest sequenced event.
const snapshotSQL = `SELECT clock_timestamp(), coalesce((SELECT max(seq) FROM events), 0)`

// parallelScanSQL lets the scan's transaction use parallel workers.
const parallelScanSQL = `SET LOCAL parallel_tuple_cost = 0`

// matchScanSQL reads the match columns of every citizen ($1: docPrefix).
const matchScanSQL = `SELECT pin, substr(textsend(doc::text), 1, $1), name_key, birth_year,
	birth_month, birth_day, sex, life_status, home_province, home_commune FROM citizens`

// callerErr carries an error of the caller's callback through a
// transaction function, to be returned unwrapped.
type callerErr struct{ err error }

func (e callerErr) Error() string { return e.err.Error() }

// docPrefix is the bytes of a document the scan reads: the PIN, version
// and a full name of up to about 100 bytes.
const docPrefix = 160

// leadingName reads the full name from the start of a citizen's document
// as the registry writes it: {"pin":"…","version":N,"full_name":"…". It
// reports false for anything else (another order, a name past the prefix),
// which the caller then reads with the json operators.
func leadingName(head []byte, pin string) (string, bool) {
	rest, ok := bytes.CutPrefix(head, []byte(`{"pin":"`+pin+`","version":`))
	if !ok {
		return "", false
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if i == 0 {
		return "", false
	}
	if rest, ok = bytes.CutPrefix(rest[i:], []byte(`,"full_name":"`)); !ok {
		return "", false
	}
	for j := 0; j < len(rest); j++ {
		switch rest[j] {
		case '\\':
			j++ // the escaped character cannot end the string
		case '"':
			if bytes.IndexByte(rest[:j], '\\') < 0 {
				return string(rest[:j]), true
			}
			var name string
			if err := json.Unmarshal(append([]byte{'"'}, rest[:j+1]...), &name); err != nil {
				return "", false
			}
			return name, true
		}
	}
	return "", false
}

// fullNames fills the full names of records the prefix did not give, from
// the same snapshot.
func fullNames(ctx context.Context, tx pgx.Tx, recs []cancuoc.MatchRecord) error {
	if len(recs) == 0 {
		return nil
	}
	pins := make([]string, len(recs))
	at := make(map[string]int, len(recs))
	for i, m := range recs {
		pins[i] = string(m.PIN)
		at[pins[i]] = i
	}
	rows, err := tx.Query(ctx, `SELECT pin, coalesce(doc->>'full_name', '') FROM citizens WHERE pin = ANY($1::bpchar[])`, pins)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var pin, name string
		if err := rows.Scan(&pin, &name); err != nil {
			return err
		}
		recs[at[pin]].FullName = name
	}
	return rows.Err()
}

// rawMatchFormats reports whether the scan's columns come as its raw
// decoding expects: bpchar and text (their bytes in either format), bytea
// and the three smallints in binary.
func rawMatchFormats(fds []pgconn.FieldDescription) bool {
	want := []uint32{pgtype.BPCharOID, pgtype.ByteaOID, pgtype.TextOID, pgtype.Int2OID, pgtype.Int2OID,
		pgtype.Int2OID, pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, pgtype.TextOID}
	if len(fds) != len(want) {
		return false
	}
	for i, fd := range fds {
		// Text and bpchar are their bytes in either format.
		if fd.DataTypeOID != want[i] || (fd.Format != pgtype.BinaryFormatCode &&
			want[i] != pgtype.TextOID && want[i] != pgtype.BPCharOID) {
			return false
		}
	}
	return true
}

// rawOK reports whether a row's raw values can be decoded: no NULLs (the
// columns are NOT NULL, but the decoding does not rely on it) and
// smallints of two bytes.
func rawOK(vals [][]byte) bool {
	for i, v := range vals {
		if v == nil || (i >= 3 && i <= 5 && len(v) != 2) {
			return false
		}
	}
	return true
}

// interner hands out one string per distinct value of the scan's small
// columns (sexes, statuses, province and commune codes).
type interner map[string]string

func (in interner) str(b []byte) string {
	if s, ok := in[string(b)]; ok {
		return s
	}
	s := string(b)
	in[s] = s
	return s
}
