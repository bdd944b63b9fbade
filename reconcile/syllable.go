package reconcile

// Vietnamese is written in syllables of a strict shape: an initial
// consonant (or none), then a rhyme from a closed list. A word of a name
// key (vntext.Key: lower-case ASCII, đ as d, marks gone) that has no such
// shape cannot be a Vietnamese name word, so when it is one slip away from
// a word that has, it is that word mistyped ("vcn" for "van", "houng" for
// "huong"); a slip that leaves a real syllable ("an" for "anh") may as well
// be another name, and is scored as a difference.
//
// The lists below are the initials and rhymes of Vietnamese orthography
// with their marks dropped (ă, â → a; ê → e; ô, ơ → o; ư → u). They err on
// the side of accepting: a word wrongly taken for a syllable only loses
// the typo allowance, while a syllable wrongly rejected would make a
// different name look like a slip.

// initials are the initial consonants, longest first so that "ngh" is
// tried before "ng" and "n".
var initials = []string{"ngh", "ng", "nh", "gh", "gi", "ch", "kh", "ph", "th", "tr", "qu",
	"b", "c", "d", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x"}

var rhymes = func() map[string]bool {
	m := map[string]bool{}
	for _, r := range []string{
		"a", "ac", "ach", "ai", "am", "an", "ang", "anh", "ao", "ap", "at", "au", "ay",
		"e", "ec", "ech", "em", "en", "eng", "enh", "eo", "ep", "et", "eu",
		"i", "ia", "ich", "iec", "iem", "ien", "ieng", "iep", "iet", "ieu", "im", "in", "inh", "ip", "it", "iu",
		"o", "oa", "oac", "oach", "oai", "oam", "oan", "oang", "oanh", "oao", "oap", "oat", "oay",
		"oc", "oe", "oen", "oeo", "oet", "oi", "om", "on", "ong", "ooc", "oong", "op", "ot",
		"u", "ua", "uan", "uang", "uanh", "uat", "uay", "uc", "ue", "uech", "uen", "uenh", "uet", "ui", "um", "un", "ung",
		"uo", "uoc", "uoi", "uom", "uon", "uong", "uop", "uot", "uou", "up", "ut", "uu",
		"uy", "uya", "uych", "uyen", "uyet", "uynh", "uyt", "uyu",
		"y", "yem", "yen", "yet", "yeu",
	} {
		m[r] = true
	}
	return m
}()

// syllable reports whether w (a word of a name key) has the shape of a
// Vietnamese syllable: an initial from the list, or none, and a rhyme.
func syllable(w string) bool {
	if rhymes[w] {
		return true
	}
	for _, in := range initials {
		if len(w) > len(in) && w[:len(in)] == in && rhymes[w[len(in):]] {
			return true
		}
	}
	// "quynh", "quyen": the u of qu is also the rhyme's first letter.
	return len(w) > 1 && w[0] == 'q' && rhymes[w[1:]]
}
