package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cancuoc/cancuoc"
)

var _ cancuoc.WebhookStore = (*conn)(nil)

const subscriptionCols = `id, partner_id, url, event_types, status, created_by, created_at, updated_at`

// InsertWebhookSubscription stores s. Conflict if the ID exists.
func (c *conn) InsertWebhookSubscription(ctx context.Context, s *cancuoc.WebhookSubscription) error {
	const op = "postgres.InsertWebhookSubscription"
	_, err := c.q.Exec(ctx, `INSERT INTO webhook_subscriptions (`+subscriptionCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		s.ID, s.PartnerID, s.URL, s.EventTypes, s.Status, s.CreatedBy, ts(s.CreatedAt), ts(s.UpdatedAt))
	return dbErr(op, err)
}

func scanSubscription(sc pgx.Row) (*cancuoc.WebhookSubscription, error) {
	var s cancuoc.WebhookSubscription
	if err := sc.Scan(&s.ID, &s.PartnerID, &s.URL, &s.EventTypes, &s.Status, &s.CreatedBy, &s.CreatedAt, &s.UpdatedAt); err != nil {
		return nil, err
	}
	s.CreatedAt, s.UpdatedAt = ts(s.CreatedAt), ts(s.UpdatedAt)
	return &s, nil
}

// WebhookSubscription returns one subscription. NotFound if absent.
func (c *conn) WebhookSubscription(ctx context.Context, id string) (*cancuoc.WebhookSubscription, error) {
	const op = "postgres.WebhookSubscription"
	s, err := scanSubscription(c.q.QueryRow(ctx, `SELECT `+subscriptionCols+` FROM webhook_subscriptions WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(op)
	}
	return s, dbErr(op, err)
}

// WebhookSubscriptions lists one partner's subscriptions (all for ""), by ID.
func (c *conn) WebhookSubscriptions(ctx context.Context, partnerID string) ([]*cancuoc.WebhookSubscription, error) {
	const op = "postgres.WebhookSubscriptions"
	rows, err := c.q.Query(ctx, `SELECT `+subscriptionCols+` FROM webhook_subscriptions
		WHERE $1 = '' OR partner_id = $1 ORDER BY id`, partnerID)
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
func (c *conn) SetWebhookStatus(ctx context.Context, id, status string, at time.Time) error {
	const op = "postgres.SetWebhookStatus"
	tag, err := c.q.Exec(ctx, `UPDATE webhook_subscriptions SET status = $1, updated_at = $2 WHERE id = $3`, status, ts(at), id)
	return affected(op, tag, err)
}

// DeleteWebhookSubscription removes a subscription and (by cascade) its
// deliveries. NotFound if absent.
func (c *conn) DeleteWebhookSubscription(ctx context.Context, id string) error {
	const op = "postgres.DeleteWebhookSubscription"
	tag, err := c.q.Exec(ctx, `DELETE FROM webhook_subscriptions WHERE id = $1`, id)
	return affected(op, tag, err)
}

// affected turns "no row changed" into NotFound.
func affected(op string, tag pgconn.CommandTag, err error) error {
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(op)
	}
	return nil
}

// InsertWebhookDelivery stores d unless (subscription, event) exists; ON
// CONFLICT DO NOTHING leaves the transaction usable.
func (c *conn) InsertWebhookDelivery(ctx context.Context, d *cancuoc.WebhookDelivery) (bool, error) {
	const op = "postgres.InsertWebhookDelivery"
	tag, err := c.q.Exec(ctx, `INSERT INTO webhook_deliveries (id, subscription_id, partner_id, event_id, event_seq,
		event_type, order_key, payload, status, attempts, next_at, enqueued_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (subscription_id, event_id) DO NOTHING`,
		d.ID, d.SubscriptionID, d.PartnerID, d.EventID, d.EventSeq, d.EventType, d.OrderKey, []byte(d.Payload),
		d.Status, d.Attempts, ts(d.NextAt), ts(d.EnqueuedAt))
	if err != nil {
		return false, dbErr(op, err)
	}
	return tag.RowsAffected() == 1, nil
}

const deliveryCols = `id, subscription_id, partner_id, event_id, event_seq, event_type, order_key, payload, status,
	attempts, next_at, enqueued_at, last_status, last_error, done_at`

func scanDelivery(sc pgx.Row) (*cancuoc.WebhookDelivery, error) {
	var (
		d       cancuoc.WebhookDelivery
		payload []byte
	)
	if err := sc.Scan(&d.ID, &d.SubscriptionID, &d.PartnerID, &d.EventID, &d.EventSeq, &d.EventType, &d.OrderKey,
		&payload, &d.Status, &d.Attempts, &d.NextAt, &d.EnqueuedAt, &d.LastStatus, &d.LastError, &d.DoneAt); err != nil {
		return nil, err
	}
	d.Payload = payload
	d.NextAt, d.EnqueuedAt = ts(d.NextAt), ts(d.EnqueuedAt)
	if d.DoneAt != nil {
		t := ts(*d.DoneAt)
		d.DoneAt = &t
	}
	return &d, nil
}

func scanDeliveries(op string, rows pgx.Rows, err error) ([]*cancuoc.WebhookDelivery, error) {
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
// one of its subscription and citizen. FOR UPDATE SKIP LOCKED lets nodes
// claim at the same time without waiting for or taking each other's rows;
// the lease (locked_until) then keeps a claimed row from the others until
// its attempt is recorded, and since a claimed row stays pending, the
// citizen's later deliveries keep waiting behind it.
func (c *conn) ClaimWebhookDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*cancuoc.WebhookDelivery, error) {
	const op = "postgres.ClaimWebhookDeliveries"
	// The candidates are chosen once, in a CTE: as "id IN (subquery)" the
	// planner may run the locking subquery again for every row it updates.
	rows, err := c.q.Query(ctx, `WITH claimed AS (
			SELECT d.id FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id
			WHERE d.status = 'pending' AND d.next_at <= $2 AND d.locked_until <= $2 AND s.status = 'active'
			  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
			      WHERE e.subscription_id = d.subscription_id AND e.order_key = d.order_key
			        AND e.status = 'pending' AND e.event_seq < d.event_seq)
			ORDER BY d.next_at, d.event_seq LIMIT $3
			FOR UPDATE OF d SKIP LOCKED)
		UPDATE webhook_deliveries w SET attempts = w.attempts + 1, locked_until = $1
		FROM claimed WHERE w.id = claimed.id
		RETURNING `+prefixed("w.", deliveryCols), ts(now.Add(lease)), ts(now), limit)
	out, err := scanDeliveries(op, rows, err)
	slices.SortFunc(out, func(a, b *cancuoc.WebhookDelivery) int { return a.NextAt.Compare(b.NextAt) })
	return out, err
}

// FinishWebhookDelivery records the outcome of attempt number attempt.
func (c *conn) FinishWebhookDelivery(ctx context.Context, id string, attempt int, oc cancuoc.WebhookOutcome) (bool, error) {
	const op = "postgres.FinishWebhookDelivery"
	var done *time.Time
	if oc.Status != cancuoc.DeliveryPending {
		t := ts(oc.At)
		done = &t
	}
	tag, err := c.q.Exec(ctx, `UPDATE webhook_deliveries SET status = $1, next_at = $2, last_status = $3, last_error = $4,
		locked_until = '-infinity', done_at = $5 WHERE id = $6 AND attempts = $7 AND status = 'pending'`,
		oc.Status, ts(oc.NextAt), oc.LastStatus, oc.LastError, done, id, attempt)
	if err != nil {
		return false, dbErr(op, err)
	}
	return tag.RowsAffected() == 1, nil
}

// WebhookDeliveries lists deliveries in one status, newest first.
func (c *conn) WebhookDeliveries(ctx context.Context, status, partnerID, before string, limit int) ([]*cancuoc.WebhookDelivery, error) {
	const op = "postgres.WebhookDeliveries"
	rows, err := c.q.Query(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries
		WHERE status = $1 AND ($2 = '' OR partner_id = $2) AND ($3 = '' OR id < $3) ORDER BY id DESC LIMIT $4`,
		status, partnerID, before, limit)
	return scanDeliveries(op, rows, err)
}

// WebhookDelivery returns one delivery. NotFound if absent.
func (c *conn) WebhookDelivery(ctx context.Context, id string) (*cancuoc.WebhookDelivery, error) {
	const op = "postgres.WebhookDelivery"
	d, err := scanDelivery(c.q.QueryRow(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(op)
	}
	return d, dbErr(op, err)
}

// RedriveWebhookDelivery puts a dead delivery back in line; one conditional
// update, then a look at why nothing changed.
func (c *conn) RedriveWebhookDelivery(ctx context.Context, id string, now time.Time) error {
	const op = "postgres.RedriveWebhookDelivery"
	tag, err := c.q.Exec(ctx, `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_at = $1,
		enqueued_at = $1, locked_until = '-infinity', done_at = NULL WHERE id = $2 AND status = 'dead'`, ts(now), id)
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	if _, err := c.WebhookDelivery(ctx, id); err != nil {
		return cancuoc.WithOp(op, err)
	}
	return cancuoc.E(cancuoc.Conflict, op, "delivery_not_dead", "Chỉ gửi lại được webhook trong danh sách thất bại.",
		"Only a delivery on the dead-letter list can be re-driven.")
}

// prefixed qualifies each column of a list with a table alias.
func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = alias + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// InsertWebhookKey stores k. Conflict "duplicate" if the ID exists.
func (c *conn) InsertWebhookKey(ctx context.Context, k *cancuoc.WebhookKey) error {
	const op = "postgres.InsertWebhookKey"
	tag, err := c.q.Exec(ctx, `INSERT INTO webhook_keys (id, private, public, created_at, retire_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`,
		k.ID, k.Private, k.Public, ts(k.CreatedAt), ts(k.RetireAt))
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return duplicate(op)
	}
	return nil
}

// WebhookKeys lists keys not retired at t, newest first.
func (c *conn) WebhookKeys(ctx context.Context, t time.Time) ([]*cancuoc.WebhookKey, error) {
	const op = "postgres.WebhookKeys"
	rows, err := c.q.Query(ctx, `SELECT id, private, public, created_at, retire_at
		FROM webhook_keys WHERE retire_at > $1 ORDER BY created_at DESC, id`, ts(t))
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.WebhookKey{}
	for rows.Next() {
		var (
			k               cancuoc.WebhookKey
			created, retire time.Time
		)
		if err := rows.Scan(&k.ID, &k.Private, &k.Public, &created, &retire); err != nil {
			return nil, dbErr(op, err)
		}
		k.CreatedAt, k.RetireAt = ts(created), ts(retire)
		out = append(out, &k)
	}
	return out, dbErr(op, rows.Err())
}

// RetireWebhookKeys brings forward the retirement of every key but except.
func (c *conn) RetireWebhookKeys(ctx context.Context, except string, at time.Time) error {
	const op = "postgres.RetireWebhookKeys"
	_, err := c.q.Exec(ctx, `UPDATE webhook_keys SET retire_at = $1 WHERE id <> $2 AND retire_at > $1`, ts(at), except)
	return dbErr(op, err)
}
