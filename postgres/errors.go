package postgres

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cancuoc/cancuoc"
)

func notFound(op string) error {
	return cancuoc.E(cancuoc.NotFound, op, "not_found", "Không tìm thấy bản ghi.", "No such record.")
}

func pinTaken(op string) error {
	return cancuoc.E(cancuoc.Conflict, op, "pin_taken",
		"Số định danh cá nhân đã được sử dụng.", "The personal identification number is already in use.")
}

func staleVersion(op string) error {
	return cancuoc.E(cancuoc.Conflict, op, "stale_version",
		"Hồ sơ vừa được thay đổi bởi người khác; hãy tải lại và thử lại.",
		"The record was changed by someone else; reload it and try again.")
}

func duplicate(op string) error {
	return cancuoc.E(cancuoc.Conflict, op, "duplicate", "Bản ghi đã tồn tại.", "The record already exists.")
}

// dbErr classifies a database error as a *cancuoc.Error of op. The cause is
// kept for logs, but stripped of what PostgreSQL may echo from the data (a
// key in a unique violation's detail, a value in a syntax error), because
// personal data never goes into logs.
func dbErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var ce *cancuoc.Error
	if errors.As(err, &ce) {
		return cancuoc.WithOp(op, err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		safe := &pgError{Code: pe.Code, Constraint: pe.ConstraintName, Table: pe.TableName}
		if !strings.HasPrefix(pe.Code, "22") { // class 22 (data exception) messages quote the value
			safe.Message = pe.Message
		}
		switch {
		case pe.Code == "23505": // unique_violation
			e := duplicate(op).(*cancuoc.Error)
			e.Err = safe
			return e
		case pe.Code == "40001" || pe.Code == "40P01": // serialization_failure, deadlock_detected
			return &cancuoc.Error{Kind: cancuoc.Conflict, Op: op, Code: "serialization_failure",
				MessageVI: "Giao dịch xung đột với một thay đổi khác; hãy thử lại.",
				MessageEN: "The transaction conflicted with another change; try again.", Err: safe}
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", // shutdown, cannot connect now
			pe.Code == "53300": // too_many_connections
			return unavailable(op, safe)
		}
		return cancuoc.WithOp(op, safe)
	}
	var ne net.Error
	var conErr *pgconn.ConnectError
	if errors.As(err, &conErr) || errors.As(err, &ne) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return unavailable(op, err)
	}
	return cancuoc.WithOp(op, err)
}

func unavailable(op string, err error) error {
	return &cancuoc.Error{Kind: cancuoc.Unavailable, Op: op, Code: "database_unavailable",
		MessageVI: "Cơ sở dữ liệu tạm thời không phản hồi; hãy thử lại sau.",
		MessageEN: "The database is temporarily unavailable; try again later.", Err: err}
}

// pgError is a PostgreSQL error without its detail, hint or (for data
// exceptions) message: the parts that can quote personal data.
type pgError struct {
	Code       string
	Message    string
	Constraint string
	Table      string
}

func (e *pgError) Error() string {
	s := "postgres: SQLSTATE " + e.Code
	if e.Message != "" {
		s += " " + e.Message
	}
	if e.Constraint != "" {
		s += " (constraint " + e.Constraint + ")"
	}
	return s
}
