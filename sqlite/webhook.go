package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"github.com/cancuoc/cancuoc/internal/json"
	"slices"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/cancuoc/cancuoc"
)

var _ cancuoc.WebhookStore = (*ops)(nil)

const subscriptionCols = `id, partner_id, url, event_types, status, created_by, created_at, updated_at`

// InsertWebhookSubscription stores s. Conflict if the ID exists.
func (o *ops) InsertWebhookSubscription(ctx context.Context, s *cancuoc.WebhookSubscription) error {
	const op = "sqlite.InsertWebhookSubscription"
	types, err := json.Marshal(s.EventTypes)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	_, err = o.w.ExecContext(ctx, `INSERT INTO webhook_subscriptions (`+subscriptionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.PartnerID, s.URL, string(types), s.Status, s.CreatedBy, micros(s.CreatedAt), micros(s.UpdatedAt))
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return conflict(op, "duplicate", "Bản ghi đã tồn tại.", "The record already exists.")
	}
	return dbErr(op, err)
}

func scanSubscription(sc interface{ Scan(...any) error }) (*cancuoc.WebhookSubscription, error) {
	var (
		s            cancuoc.WebhookSubscription
		types        string
		created, upd int64
	)
	if err := sc.Scan(&s.ID, &s.PartnerID, &s.URL, &types, &s.Status, &s.CreatedBy, &created, &upd); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(types), &s.EventTypes); err != nil {
		return nil, err
	}
	s.CreatedAt, s.UpdatedAt = fromMicros(created), fromMicros(upd)
	return &s, nil
}

// WebhookSubscription returns one subscription. NotFound if absent.
func (o *ops) WebhookSubscription(ctx context.Context, id string) (*cancuoc.WebhookSubscription, error) {
	const op = "sqlite.WebhookSubscription"
	s, err := scanSubscription(o.r.QueryRowContext(ctx, `SELECT `+subscriptionCols+` FROM webhook_subscriptions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "Không có đăng ký webhook này.", "No such webhook subscription.")
	}
	return s, dbErr(op, err)
}

// WebhookSubscriptions lists one partner's subscriptions (all for ""), by ID.
func (o *ops) WebhookSubscriptions(ctx context.Context, partnerID string) ([]*cancuoc.WebhookSubscription, error) {
	const op = "sqlite.WebhookSubscriptions"
	rows, err := o.r.QueryContext(ctx, `SELECT `+subscriptionCols+` FROM webhook_subscriptions
		WHERE ? = '' OR partner_id = ? ORDER BY id`, partnerID, partnerID)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.WebhookSubscription{}
	for rows.Next() {
		s, err := scanSubscription(rows)
		if err != nil {
			return nil, dbErr(op, err)
		}
		out = append(out, s)
	}
	return out, dbErr(op, rows.Err())
}

// SetWebhookStatus changes a subscription's status. NotFound if absent.
func (o *ops) SetWebhookStatus(ctx context.Context, id, status string, at time.Time) error {
	const op = "sqlite.SetWebhookStatus"
	res, err := o.w.ExecContext(ctx, `UPDATE webhook_subscriptions SET status = ?, updated_at = ? WHERE id = ?`, status, micros(at), id)
	return affected(op, res, err)
}

// DeleteWebhookSubscription removes a subscription and (by cascade) its
// deliveries. NotFound if absent.
func (o *ops) DeleteWebhookSubscription(ctx context.Context, id string) error {
	const op = "sqlite.DeleteWebhookSubscription"
	res, err := o.w.ExecContext(ctx, `DELETE FROM webhook_subscriptions WHERE id = ?`, id)
	return affected(op, res, err)
}

// affected turns "no row changed" into NotFound.
func affected(op string, res sql.Result, err error) error {
	if err != nil {
		return dbErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbErr(op, err)
	} else if n == 0 {
		return notFound(op, "Không có bản ghi này.", "No such record.")
	}
	return nil
}

// InsertWebhookDelivery stores d unless (subscription, event) exists.
func (o *ops) InsertWebhookDelivery(ctx context.Context, d *cancuoc.WebhookDelivery) (bool, error) {
	const op = "sqlite.InsertWebhookDelivery"
	res, err := o.w.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, subscription_id, partner_id, event_id, event_seq,
		event_type, order_key, payload, status, attempts, next_at, enqueued_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (subscription_id, event_id) DO NOTHING`,
		d.ID, d.SubscriptionID, d.PartnerID, d.EventID, d.EventSeq, d.EventType, d.OrderKey, []byte(d.Payload),
		d.Status, d.Attempts, micros(d.NextAt), micros(d.EnqueuedAt))
	if err != nil {
		return false, dbErr(op, err)
	}
	n, err := res.RowsAffected()
	return n == 1, dbErr(op, err)
}

const deliveryCols = `id, subscription_id, partner_id, event_id, event_seq, event_type, order_key, payload, status,
	attempts, next_at, enqueued_at, last_status, last_error, done_at`

func scanDelivery(sc interface{ Scan(...any) error }) (*cancuoc.WebhookDelivery, error) {
	var (
		d         cancuoc.WebhookDelivery
		payload   []byte
		next, enq int64
		done      sql.NullInt64
	)
	if err := sc.Scan(&d.ID, &d.SubscriptionID, &d.PartnerID, &d.EventID, &d.EventSeq, &d.EventType, &d.OrderKey,
		&payload, &d.Status, &d.Attempts, &next, &enq, &d.LastStatus, &d.LastError, &done); err != nil {
		return nil, err
	}
	d.Payload = payload
	d.NextAt, d.EnqueuedAt = fromMicros(next), fromMicros(enq)
	if done.Valid {
		t := fromMicros(done.Int64)
		d.DoneAt = &t
	}
	return &d, nil
}

func scanDeliveries(op string, rows *sql.Rows, err error) ([]*cancuoc.WebhookDelivery, error) {
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.WebhookDelivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, dbErr(op, err)
		}
		out = append(out, d)
	}
	return out, dbErr(op, rows.Err())
}

// ClaimWebhookDeliveries takes due deliveries, each the earliest pending
// one of its subscription and citizen. SQLite has one writer, so the
// UPDATE alone is the lock several workers of this process need. The due
// index is named because, without statistics, SQLite would rather read
// every pending row by the status index and sort them: walking the due
// index in order stops at the limit.
func (o *ops) ClaimWebhookDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*cancuoc.WebhookDelivery, error) {
	const op = "sqlite.ClaimWebhookDeliveries"
	rows, err := o.w.QueryContext(ctx, `UPDATE webhook_deliveries SET attempts = attempts + 1, locked_until = ?
		WHERE id IN (
			SELECT d.id FROM webhook_deliveries d INDEXED BY webhook_deliveries_due
			JOIN webhook_subscriptions s ON s.id = d.subscription_id
			WHERE d.status = 'pending' AND d.next_at <= ? AND d.locked_until <= ? AND s.status = 'active'
			  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
			      WHERE e.subscription_id = d.subscription_id AND e.order_key = d.order_key
			        AND e.status = 'pending' AND e.event_seq < d.event_seq)
			ORDER BY d.next_at, d.event_seq LIMIT ?)
		RETURNING `+deliveryCols, micros(now.Add(lease)), micros(now), micros(now), limit)
	out, err := scanDeliveries(op, rows, err)
	slices.SortFunc(out, func(a, b *cancuoc.WebhookDelivery) int { return a.NextAt.Compare(b.NextAt) })
	return out, err
}

// FinishWebhookDelivery records the outcome of attempt number attempt.
func (o *ops) FinishWebhookDelivery(ctx context.Context, id string, attempt int, oc cancuoc.WebhookOutcome) (bool, error) {
	const op = "sqlite.FinishWebhookDelivery"
	var done any
	if oc.Status != cancuoc.DeliveryPending {
		done = micros(oc.At)
	}
	res, err := o.w.ExecContext(ctx, `UPDATE webhook_deliveries SET status = ?, next_at = ?, last_status = ?, last_error = ?,
		locked_until = 0, done_at = ? WHERE id = ? AND attempts = ? AND status = 'pending'`,
		oc.Status, micros(oc.NextAt), oc.LastStatus, oc.LastError, done, id, attempt)
	if err != nil {
		return false, dbErr(op, err)
	}
	n, err := res.RowsAffected()
	return n == 1, dbErr(op, err)
}

// WebhookDeliveries lists deliveries in one status, newest first.
func (o *ops) WebhookDeliveries(ctx context.Context, status, partnerID, before string, limit int) ([]*cancuoc.WebhookDelivery, error) {
	const op = "sqlite.WebhookDeliveries"
	rows, err := o.r.QueryContext(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries
		WHERE status = ? AND (? = '' OR partner_id = ?) AND (? = '' OR id < ?) ORDER BY id DESC LIMIT ?`,
		status, partnerID, partnerID, before, before, limit)
	return scanDeliveries(op, rows, err)
}

// WebhookDelivery returns one delivery. NotFound if absent.
func (o *ops) WebhookDelivery(ctx context.Context, id string) (*cancuoc.WebhookDelivery, error) {
	const op = "sqlite.WebhookDelivery"
	d, err := scanDelivery(o.r.QueryRowContext(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "Không có lần gửi webhook này.", "No such webhook delivery.")
	}
	return d, dbErr(op, err)
}

// RedriveWebhookDelivery puts a dead delivery back in line.
func (o *ops) RedriveWebhookDelivery(ctx context.Context, id string, now time.Time) error {
	const op = "sqlite.RedriveWebhookDelivery"
	return o.atomic(ctx, func(t *ops) error {
		var status string
		err := t.w.QueryRowContext(ctx, `SELECT status FROM webhook_deliveries WHERE id = ?`, id).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound(op, "Không có lần gửi webhook này.", "No such webhook delivery.")
		}
		if err != nil {
			return dbErr(op, err)
		}
		if status != cancuoc.DeliveryDead {
			return notDead(op)
		}
		_, err = t.w.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_at = ?,
			enqueued_at = ?, locked_until = 0, done_at = NULL WHERE id = ?`, micros(now), micros(now), id)
		return dbErr(op, err)
	})
}

func notDead(op string) error {
	return conflict(op, "delivery_not_dead", "Chỉ gửi lại được webhook trong danh sách thất bại.",
		"Only a delivery on the dead-letter list can be re-driven.")
}

// InsertWebhookKey stores k. Conflict "duplicate" if the ID exists.
func (o *ops) InsertWebhookKey(ctx context.Context, k *cancuoc.WebhookKey) error {
	const op = "sqlite.InsertWebhookKey"
	res, err := o.w.ExecContext(ctx, `INSERT INTO webhook_keys (id, private, public, created_at, retire_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		k.ID, k.Private, k.Public, micros(k.CreatedAt), micros(k.RetireAt))
	return inserted(op, res, err, "Mã khoá đã tồn tại.", "The key ID already exists.")
}

// WebhookKeys lists keys not retired at t, newest first.
func (o *ops) WebhookKeys(ctx context.Context, t time.Time) ([]*cancuoc.WebhookKey, error) {
	const op = "sqlite.WebhookKeys"
	rows, err := o.r.QueryContext(ctx, `SELECT id, private, public, created_at, retire_at
		FROM webhook_keys WHERE retire_at > ? ORDER BY created_at DESC, id`, micros(t))
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.WebhookKey{}
	for rows.Next() {
		var (
			k               cancuoc.WebhookKey
			created, retire int64
		)
		if err := rows.Scan(&k.ID, &k.Private, &k.Public, &created, &retire); err != nil {
			return nil, dbErr(op, err)
		}
		k.CreatedAt, k.RetireAt = fromMicros(created), fromMicros(retire)
		out = append(out, &k)
	}
	return out, dbErr(op, rows.Err())
}

// RetireWebhookKeys brings forward the retirement of every key but except.
func (o *ops) RetireWebhookKeys(ctx context.Context, except string, at time.Time) error {
	const op = "sqlite.RetireWebhookKeys"
	_, err := o.w.ExecContext(ctx, `UPDATE webhook_keys SET retire_at = ? WHERE id <> ? AND retire_at > ?`,
		micros(at), except, micros(at))
	return dbErr(op, err)
}
