package postgres

import (
	"errors"

	"github.com/cancuoc/cancuoc"
)

// HoldRaising holds sql in tx's pipe as a write the server may refuse
// (holdRaising), for TestWholeTransaction (package postgres_test).
func HoldRaising(tx cancuoc.Tx, sql string, args ...any) error {
	c, ok := tx.(*conn)
	if !ok || c.pipe == nil {
		return errors.New("not a pipelined transaction")
	}
	c.pipe.holdRaising(sql, args, func(err error) error { return err })
	return nil
}
