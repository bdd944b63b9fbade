package cancuoc

import (
	"context"
	"time"
)

// AccountLevel is the assurance level of an electronic identity account
// (Decree 69/2024): level 1 is proven by the registry match and a phone,
// level 2 by an in-person check or a verified chip-card read. Organisations
// have no level (0).
type AccountLevel int

// Account levels.
const (
	LevelNone AccountLevel = 0
	Level1    AccountLevel = 1
	Level2    AccountLevel = 2
)

// AccountStatus says whether an account may log in.
type AccountStatus string

// Account statuses. Locked is undone by an officer; suspended follows a
// court's declaration that the holder is missing; closed is final (death).
const (
	AccountActive    AccountStatus = "active"
	AccountLocked    AccountStatus = "locked"
	AccountSuspended AccountStatus = "suspended"
	AccountClosed    AccountStatus = "closed"
)

// Account kinds.
const (
	AccountCitizen      = "citizen"
	AccountOrganisation = "organisation"
)

// Event types written to the outbox by the eid capability.
const (
	EventAccountCreated   = "account.created"
	EventAccountLevel2    = "account.level2"
	EventAccountLocked    = "account.locked"
	EventAccountUnlocked  = "account.unlocked"
	EventAccountSuspended = "account.suspended"
	EventAccountClosed    = "account.closed"
)

// Account is an electronic identity account: a citizen's (with a PIN and a
// level) or an organisation's (with a name, no level, acting through its
// members). Secrets are kept apart, in AccountSecrets and Passkey, so an
// Account can be shown or logged by ID without exposing them.
type Account struct {
	ID          string        `json:"id"`
	Kind        string        `json:"kind"` // AccountCitizen or AccountOrganisation
	PIN         PIN           `json:"pin,omitempty"`
	Level       AccountLevel  `json:"level"`
	Status      AccountStatus `json:"status"`
	Phone       string        `json:"phone,omitempty"` // E.164, proven by a one-time code
	Email       string        `json:"email,omitempty"`
	GuardianPIN PIN           `json:"guardian_pin,omitempty"` // set for a child's account
	OrgName     string        `json:"org_name,omitempty"`
	// Level2 records who raised the account to level 2, how and why.
	Level2    *LevelGrant `json:"level2,omitempty"`
	CreatedAt time.Time   `json:"created_at"`
	UpdatedAt time.Time   `json:"updated_at"`
	Version   int64       `json:"version"`
}

// LevelGrant is the record of raising an account to level 2.
type LevelGrant struct {
	Method string    `json:"method"` // "in_person" or "chip"
	By     string    `json:"by"`     // principal ID, or the chip verification's name
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// AccountSecrets are an account's password hash and TOTP secret. The hash is
// PHC-encoded with its parameters; TOTPLastStep is the last time step used,
// so a code cannot be replayed within its window.
type AccountSecrets struct {
	AccountID     string
	PasswordHash  string
	TOTPSecret    string // base32; empty when not enrolled
	TOTPLastStep  int64
	PasswordSetAt time.Time
}

// Passkey is a WebAuthn credential. Credential is the library's credential
// record as JSON, opaque to storage so that the root package does not depend
// on the WebAuthn library.
type Passkey struct {
	ID         []byte // credential ID
	AccountID  string
	Name       string
	Credential []byte
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// Challenge is a pending step of a ceremony: a one-time code sent by SMS
// (CodeHash set), a TOTP enrolment, or a WebAuthn session. Data is the
// capability's own state (JSON). Attempts and UsedAt make codes single use
// with limited guesses.
type Challenge struct {
	ID        string
	Purpose   string
	AccountID string
	PIN       PIN
	Phone     string
	CodeHash  []byte
	Attempts  int
	Data      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// Throttle counts recent failed authentications under a key (an account or
// a source address); the eid capability derives the delay from it.
type Throttle struct {
	Key         string
	Failures    int
	LastFailure time.Time
}

// FacePhoto is the photo taken at level-1 registration, kept for later
// biometric checks.
type FacePhoto struct {
	AccountID   string
	ContentType string
	Data        []byte
	SHA256      []byte
	CreatedAt   time.Time
}

// LoginRecord is one successful login, kept so that holders (and guardians
// of children) can see where an account was used.
type LoginRecord struct {
	ID        int64     `json:"id"`
	AccountID string    `json:"account_id"`
	At        time.Time `json:"at"`
	ClientID  string    `json:"client_id"`
	AMR       []string  `json:"amr"`
	Source    string    `json:"source,omitempty"`
}

// Organisation member roles.
const (
	OrgAdmin  = "admin"
	OrgMember = "member"
)

// OrgMembership links a citizen account that acts for an organisation.
type OrgMembership struct {
	OrgID     string    `json:"org_id"`
	AccountID string    `json:"account_id"`
	Role      string    `json:"role"` // OrgAdmin or OrgMember
	AddedBy   string    `json:"added_by"`
	AddedAt   time.Time `json:"added_at"`
}

// AccountStore keeps electronic identity accounts and their authenticators.
// It only stores: the eid capability decides.
type AccountStore interface {
	// InsertAccount stores a new account. Conflict "account_exists" when a
	// citizen account that is not closed exists for the PIN; Conflict
	// "duplicate" when the ID exists.
	InsertAccount(ctx context.Context, a *Account) error
	// Account returns one account by ID. NotFound if absent.
	Account(ctx context.Context, id string) (*Account, error)
	// AccountByPIN returns the PIN's citizen account that is not closed, or
	// else its latest closed one. NotFound if none.
	AccountByPIN(ctx context.Context, pin PIN) (*Account, error)
	// UpdateAccount replaces a if its stored version is still prev
	// (a.Version is the new one). Conflict "stale_version" otherwise;
	// NotFound if the ID is unknown.
	UpdateAccount(ctx context.Context, a *Account, prev int64) error
	// AccountsByGuardian lists the accounts whose GuardianPIN is pin, oldest
	// first. Empty if none.
	AccountsByGuardian(ctx context.Context, pin PIN) ([]*Account, error)

	// Secrets returns an account's secrets; a value with only AccountID set
	// when none are stored.
	Secrets(ctx context.Context, accountID string) (*AccountSecrets, error)
	// PutSecrets stores (inserts or replaces) an account's secrets.
	PutSecrets(ctx context.Context, s *AccountSecrets) error

	// InsertPasskey stores a credential. Conflict "duplicate" if its ID exists.
	InsertPasskey(ctx context.Context, p *Passkey) error
	// Passkeys lists an account's credentials, oldest first. Empty if none.
	Passkeys(ctx context.Context, accountID string) ([]*Passkey, error)
	// AccountPasskeys returns an account and its credentials (as Passkeys)
	// in one read, which a passkey login needs both of. NotFound if the
	// account is absent.
	AccountPasskeys(ctx context.Context, id string) (*Account, []*Passkey, error)
	// AccountPasskeysConsent is AccountPasskeys with, in the same read, the
	// consent of the account's citizen for clientID as Consent returns it
	// (nil if none was ever given): a passkey login to a service needs all
	// three, and on PostgreSQL each read is a round trip.
	AccountPasskeysConsent(ctx context.Context, id, clientID string) (*Account, []*Passkey, *Consent, error)
	// UpdatePasskey replaces a credential's record and last use. NotFound if absent.
	UpdatePasskey(ctx context.Context, p *Passkey) error

	// InsertChallenge stores a challenge. Conflict "duplicate" if the ID exists.
	InsertChallenge(ctx context.Context, c *Challenge) error
	// Challenge returns one challenge. NotFound if absent.
	Challenge(ctx context.Context, id string) (*Challenge, error)
	// UpdateChallenge stores c.Attempts and c.UsedAt if the stored challenge
	// still has prevAttempts attempts and is unused, so two racing guesses
	// cannot both count as one. Conflict "stale_version" otherwise; NotFound
	// if absent.
	UpdateChallenge(ctx context.Context, c *Challenge, prevAttempts int) error
	// DeleteChallenges removes challenges that expired before t and returns
	// how many.
	DeleteChallenges(ctx context.Context, before time.Time) (int64, error)

	// AddFailure counts one failure under key at time at and returns the
	// new count. A count whose last failure is before resetBefore starts
	// again at 1, so old failures are forgotten.
	AddFailure(ctx context.Context, key string, at, resetBefore time.Time) (*Throttle, error)
	// Throttle returns the failures under key; Failures 0 when none.
	Throttle(ctx context.Context, key string) (*Throttle, error)
	// ClearThrottle forgets the failures under key.
	ClearThrottle(ctx context.Context, key string) error

	// PutFacePhoto stores (inserts or replaces) an account's photo.
	PutFacePhoto(ctx context.Context, p *FacePhoto) error
	// FacePhoto returns an account's photo. NotFound if none.
	FacePhoto(ctx context.Context, accountID string) (*FacePhoto, error)

	// AppendLogin stores a login and sets its ID.
	AppendLogin(ctx context.Context, l *LoginRecord) error
	// Logins lists an account's logins, newest first, at most limit (100
	// when limit is not positive).
	Logins(ctx context.Context, accountID string, limit int) ([]*LoginRecord, error)

	// PutOrgMember stores (inserts or replaces) a membership.
	PutOrgMember(ctx context.Context, m *OrgMembership) error
	// OrgMember returns one membership. NotFound if absent.
	OrgMember(ctx context.Context, orgID, accountID string) (*OrgMembership, error)
	// OrgMembers lists an organisation's members, oldest first.
	OrgMembers(ctx context.Context, orgID string) ([]*OrgMembership, error)
	// MembershipsOf lists the organisations an account is a member of,
	// oldest first.
	MembershipsOf(ctx context.Context, accountID string) ([]*OrgMembership, error)
}
