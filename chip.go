package cancuoc

import (
	"context"
	"time"
)

// ChipChallenge is a nonce the server issued for a chip's active
// authentication (ICAO 9303 Part 11 §6.1): the chip signs it with its DG15
// key, which proves the chip holds a key a copy of the data cannot carry.
// It is accepted back once, before it expires, from whom it was issued to.
// Stored rather than kept in memory, so that a challenge issued by one node
// can be answered on another.
type ChipChallenge struct {
	ID        string    `json:"id"`
	Challenge []byte    `json:"-"`
	IssuedTo  string    `json:"-"` // principal ID, or "citizen:"+PIN for the app
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// ChipChallengeStore keeps outstanding active-authentication challenges.
type ChipChallengeStore interface {
	// InsertChipChallenge stores a new challenge. Conflict "duplicate" if
	// the ID exists.
	InsertChipChallenge(ctx context.Context, c *ChipChallenge) error
	// TakeChipChallenge removes the challenge of id and returns it, in one
	// statement, so that two nodes racing with the same ID cannot both get
	// it. NotFound if absent: never issued, already taken or purged.
	// Expiry is the caller's to check.
	TakeChipChallenge(ctx context.Context, id string) (*ChipChallenge, error)
	// PurgeChipChallenges deletes the challenges that expired at or
	// before t and returns how many.
	PurgeChipChallenges(ctx context.Context, t time.Time) (int64, error)
}
