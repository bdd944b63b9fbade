package synth

import (
	"fmt"

	"github.com/cancuoc/cancuoc"
)

// serialSpace is the number of distinct six-digit serials in one bucket.
const serialSpace = 1_000_000

// pinIssuer hands out PINs that never repeat without remembering them: each
// (province, century/sex digit, YY) bucket has a counter, and the counter is
// mapped through a per-bucket affine permutation of [0, 10^6) so that
// consecutive people do not get consecutive serials. Memory is one uint32 per
// possible bucket (100·10·100), whatever the population size.
type pinIssuer struct {
	seed  uint64
	count []uint32
}

func newPINIssuer(seed int64) *pinIssuer {
	return &pinIssuer{seed: uint64(seed), count: make([]uint32, 100*10*100)}
}

// issue returns the next PIN of the bucket. region is "0" + a 2-digit
// province code.
func (p *pinIssuer) issue(region string, sex cancuoc.Sex, year int) (cancuoc.PIN, error) {
	if len(region) != 3 || region[0] != '0' || !cancuoc.ValidPINRegion(region) {
		return "", fmt.Errorf("synth: region %q is not a province code", region)
	}
	prov := int(region[1]-'0')*10 + int(region[2]-'0')
	g := (year/100 - 19) * 2
	if sex == cancuoc.Female {
		g++
	}
	if g < 0 || g > 9 {
		return "", fmt.Errorf("synth: birth year %d outside the PIN's centuries", year)
	}
	idx := (prov*10+g)*100 + year%100
	k := p.count[idx]
	if k >= serialSpace {
		return "", fmt.Errorf("synth: all %d serials of PIN bucket %s%d%02d are used", serialSpace, region, g, year%100)
	}
	p.count[idx]++
	perm := newAffine(serialSpace, mix(p.seed^mix(uint64(idx)+0x50494e)))
	// The digits are laid out as cancuoc.NewPIN does (the tests compare
	// the two); building them directly avoids its fmt.Sprintf on the
	// generator's hottest path.
	var b [12]byte
	copy(b[:3], region)
	b[3] = byte('0' + g)
	yy := year % 100
	b[4], b[5] = byte('0'+yy/10), byte('0'+yy%10)
	s := perm.at(uint64(k))
	for i := 11; i >= 6; i-- {
		b[i] = byte('0' + s%10)
		s /= 10
	}
	return cancuoc.PIN(b[:]), nil
}
