package storetest

import (
	"context"
	"sync/atomic"

	"github.com/cancuoc/cancuoc"
)

// TxCounter is a store that counts the transactions opened through it
// (InTx), for tests that a path settles on reads alone: on SQLite every
// transaction waits for the single writer.
type TxCounter struct {
	cancuoc.Store
	n atomic.Int64
}

// InTx counts, then runs fn in the wrapped store's transaction.
func (c *TxCounter) InTx(ctx context.Context, fn func(cancuoc.Tx) error) error {
	c.n.Add(1)
	return c.Store.InTx(ctx, fn)
}

// Count is the number of transactions opened so far.
func (c *TxCounter) Count() int64 { return c.n.Load() }
