package chipcheck

import (
	"context"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/card"
	"github.com/cancuoc/cancuoc/mrtd"
	"github.com/cancuoc/cancuoc/vntext"
)

// comparedFields are the record fields a comparison reads, for the audit
// entry.
var comparedFields = []string{"birth_date", "cards", "full_name", "life_status", "sex"}

// compare checks the proven chip data against the registry record of its
// PIN and the card records, adding field results and reasons to v. It
// returns the record fields read.
func (c *Checker) compare(ctx context.Context, v *Verdict, res *mrtd.Result, now time.Time) ([]string, error) {
	cit, err := c.store.Citizen(ctx, v.PIN)
	if cancuoc.KindOf(err) == cancuoc.NotFound {
		v.Registry = Failed
		v.refuse("registry.not_found", "no registry record has the card's PIN")
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	before := len(v.Reasons)
	mrz, vn := res.MRZ, res.VN
	check := func(field, source string, ok bool) {
		v.Fields = append(v.Fields, FieldResult{Field: field, Source: source, Match: ok})
		if !ok {
			v.refuse("registry."+field, "the %s in the %s differs from the registry", strings.ReplaceAll(field, "_", " "), strings.ToUpper(source))
		}
	}
	check("full_name", "mrz", mrz.Lines[2] == mrtd.NameLine(cit.FullName))
	check("birth_date", "mrz", mrz.Birth(now) == cit.BirthDate)
	check("sex", "mrz", mrz.Sex == mrzSex(cit.Sex))
	if vn != nil {
		check("full_name", "dg13", vntext.SameName(vn.FullName, cit.FullName, vntext.NameExact))
		birth, err := mrtd.ParseChipDate(vn.BirthDate)
		check("birth_date", "dg13", err == nil && birth == cit.BirthDate)
		check("sex", "dg13", vn.Sex == dg13Sex(cit.Sex))
	}
	c.compareCard(v, cit, mrz, vn, now, check)
	switch cit.LifeStatus {
	case cancuoc.Alive:
	case cancuoc.Dead:
		v.refuse("registry.holder_dead", "the registry records the holder as dead")
	default:
		v.refuse("registry.holder_missing", "the registry records the holder as declared missing")
	}
	v.Registry = Passed
	if len(v.Reasons) > before {
		v.Registry = Failed
	}
	return comparedFields, nil
}

// compareCard finds the card record the chip belongs to (same number, and
// the issue date DG13 carries, or the MRZ's expiry without DG13) and
// checks its expiry and status. The card
// number is the PIN; the MRZ carries its last nine digits. Two records can
// share number and issue date only when a card was re-issued on the day
// it was issued: the chip cannot tell them apart, so the least valid one
// decides.
func (c *Checker) compareCard(v *Verdict, cit *cancuoc.Citizen, mrz *mrtd.TD1, vn *mrtd.VNData, now time.Time,
	check func(field, source string, ok bool)) {
	// Without DG13's issue date, the MRZ's expiry tells cards apart.
	var issued cancuoc.Date
	if vn != nil {
		issued, _ = mrtd.ParseChipDate(vn.IssuedOn)
	}
	mrzExpiry := mrz.Expiry(now)
	var match *cancuoc.Card
	matches := 0
	for i := range cit.Cards {
		k := &cit.Cards[i]
		if !sameNumber(k.Number, mrz) {
			continue
		}
		if (!issued.IsZero() && k.IssuedOn != issued) || (issued.IsZero() && k.ExpiresOn != mrzExpiry) {
			continue
		}
		matches++
		if match == nil || rank(k.Status) > rank(match.Status) {
			match = k
		}
	}
	ambiguous := ""
	if matches > 1 {
		ambiguous = " (several card records fit the chip; the least valid decides)"
	}
	if match == nil {
		v.Fields = append(v.Fields, FieldResult{Field: "card", Source: "dg13", Match: false})
		v.refuse("card.unknown", "no card on record has this number and issue date")
		return
	}
	v.Card = &CardRecord{Number: match.Number, IssuedOn: match.IssuedOn, ExpiresOn: match.ExpiresOn, Status: match.Status}
	check("card_expires_on", "mrz", mrzExpiry == match.ExpiresOn)
	if vn != nil {
		exp, err := mrtd.ParseChipDate(vn.ExpiresOn)
		if vn.ExpiresOn == mrtd.NoExpiry {
			exp, err = cancuoc.Date{}, nil
		}
		check("card_expires_on", "dg13", err == nil && exp == match.ExpiresOn)
	}
	today := card.Today(now)
	switch {
	case match.Status != cancuoc.CardValid:
		v.refuse("card."+string(match.Status), "the registry marks this card "+string(match.Status)+ambiguous)
	case card.Expired(*match, today):
		v.refuse("card.expired", "the card's validity ended on "+match.ExpiresOn.String())
	}
}

// rank orders statuses from valid to the most final, so the least valid of
// indistinguishable records decides.
func rank(s cancuoc.CardStatus) int {
	switch s {
	case cancuoc.CardValid:
		return 0
	case cancuoc.CardExpired:
		return 1
	case cancuoc.CardReplaced:
		return 2
	case cancuoc.CardLost:
		return 3
	}
	return 4 // revoked, or a status this code does not know
}

// sameNumber reports whether a card record's number is the chip's: the
// PIN in the MRZ's optional data, or else the nine digits of the document
// number as the last nine of a 12-digit card number.
func sameNumber(number string, mrz *mrtd.TD1) bool {
	if mrz.PIN != "" {
		return number == mrz.PIN
	}
	return len(number) == 12 && number[3:] == mrz.DocumentNumber
}

func mrzSex(s cancuoc.Sex) string {
	switch s {
	case cancuoc.Male:
		return "M"
	case cancuoc.Female:
		return "F"
	}
	return "<"
}

func dg13Sex(s cancuoc.Sex) string {
	switch s {
	case cancuoc.Male:
		return "Nam"
	case cancuoc.Female:
		return "Nữ"
	}
	return ""
}
