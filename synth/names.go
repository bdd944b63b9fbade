package synth

import (
	_ "embed"
	"math/rand/v2"
	"strings"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/vntext"
)

// The given-name lists of duyet/vietnamese-namedb (MIT); see data/SOURCES.md.
var (
	//go:embed data/given-male.txt
	givenMaleTxt string
	//go:embed data/given-female.txt
	givenFemaleTxt string
)

// surnameWeights are shares of the population in percent. The first rows are
// the widely cited estimates of shared/data/README.md (Hoàng/Huỳnh and Vũ/Võ,
// cited together, are split by our own estimate of their north/south use);
// the tail is a set of real, less common surnames with Zipf-like weights of
// our own that together make up the remaining ~11%.
var surnameWeights = []struct {
	name string
	w    float64
}{
	{"Nguyễn", 38}, {"Trần", 11}, {"Lê", 9.5}, {"Phạm", 7.1}, {"Hoàng", 3.0}, {"Huỳnh", 2.1},
	{"Phan", 4.5}, {"Vũ", 2.0}, {"Võ", 1.9}, {"Đặng", 2.1}, {"Bùi", 2.0}, {"Đỗ", 1.4},
	{"Hồ", 1.3}, {"Ngô", 1.3}, {"Dương", 1.0}, {"Lý", 0.5},
	{"Đinh", 0.75}, {"Trịnh", 0.7}, {"Đào", 0.65}, {"Mai", 0.6}, {"Trương", 0.55}, {"Lâm", 0.5},
	{"Đoàn", 0.5}, {"Hà", 0.45}, {"Lương", 0.4}, {"Cao", 0.4}, {"Tạ", 0.35}, {"Lưu", 0.35},
	{"Châu", 0.3}, {"Chu", 0.3}, {"Tô", 0.3}, {"Thái", 0.28}, {"Quách", 0.25}, {"Phùng", 0.25},
	{"Triệu", 0.25}, {"Kiều", 0.22}, {"La", 0.2}, {"Tăng", 0.2}, {"Vương", 0.2}, {"Từ", 0.18},
	{"Hứa", 0.18}, {"Thạch", 0.18}, {"Nông", 0.18}, {"Lại", 0.17}, {"Mạc", 0.15}, {"Doãn", 0.15},
	{"Khúc", 0.12}, {"Kim", 0.12}, {"Thân", 0.12}, {"Tống", 0.12}, {"Ninh", 0.1}, {"Giang", 0.1},
	{"Diệp", 0.1}, {"Lò", 0.1}, {"Vi", 0.1}, {"Ông", 0.08}, {"Phí", 0.08}, {"Quan", 0.08},
	{"Tôn", 0.08}, {"Khổng", 0.06}, {"Hàn", 0.06}, {"Lục", 0.06}, {"Bế", 0.06}, {"Sơn", 0.06},
	{"Cấn", 0.05}, {"Âu", 0.05}, {"Bạch", 0.05}, {"Cù", 0.05}, {"Tiêu", 0.05}, {"Giàng", 0.05},
}

// namer draws Vietnamese names. Its tables are built per Generate (no package
// state) and are read-only afterwards.
type namer struct {
	surnames     []string
	surnameKeys  map[string]string
	surnamePick  weighted
	male, female []string
	// maleKey and femaleKey hold the search key of each name's last word,
	// for e-mail addresses, computed once instead of per person.
	maleKey, femaleKey []string
}

func newNamer() *namer {
	n := &namer{
		male:   nameLines(givenMaleTxt),
		female: nameLines(givenFemaleTxt),
	}
	n.maleKey, n.femaleKey = lastWordKeys(n.male), lastWordKeys(n.female)
	n.surnameKeys = map[string]string{}
	w := make([]float64, len(surnameWeights))
	for i, s := range surnameWeights {
		name := vntext.NFC(s.name)
		n.surnames = append(n.surnames, name)
		n.surnameKeys[name] = strings.ReplaceAll(vntext.Key(name), " ", "")
		w[i] = s.w
	}
	n.surnamePick = newWeighted(w)
	return n
}

// nameLines splits an embedded list, dropping blanks and duplicates and
// normalising to NFC, so the upstream files can be copied in unchanged.
func nameLines(s string) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range strings.Split(s, "\n") {
		l = vntext.CleanName(l)
		if l == "" || seen[l] {
			continue
		}
		seen[l] = true
		out = append(out, l)
	}
	return out
}

func lastWordKeys(names []string) []string {
	keys := make([]string, len(names))
	for i, g := range names {
		keys[i] = strings.ReplaceAll(vntext.Key(g[strings.LastIndexByte(g, ' ')+1:]), " ", "")
	}
	return keys
}

func (n *namer) surname(r *rand.Rand) string { return n.surnames[n.surnamePick.pick(r)] }

// given returns middle + given name and the key of the given name proper
// (the last word). People born before the 1990s were very
// often named with the plain middle names Văn (men) and Thị (women); modern
// lists under-represent that, so it is added with a probability that falls
// with the birth year.
func (n *namer) given(r *rand.Rand, sex cancuoc.Sex, birthYear int) (string, string) {
	list, keys, plain := n.male, n.maleKey, "Văn"
	if sex == cancuoc.Female {
		list, keys, plain = n.female, n.femaleKey, "Thị"
	}
	i := r.IntN(len(list))
	g := list[i]
	p := 0.08
	switch {
	case birthYear < 1975:
		p = 0.6
	case birthYear < 1995:
		p = 0.35
	}
	if r.Float64() < p {
		if j := strings.LastIndexByte(g, ' '); j >= 0 {
			g = plain + g[j:]
		}
	}
	return g, keys[i]
}

// givenName is given without the key, for relatives known by name only.
func (n *namer) givenName(r *rand.Rand, sex cancuoc.Sex, birthYear int) string {
	g, _ := n.given(r, sex, birthYear)
	return g
}

// Namer draws full Vietnamese names the way Generate does (surnames by
// their share of the population, given names from the embedded lists),
// for data made outside Generate: test fixtures and load generators. Its
// tables are read-only once built, so goroutines may share one, each with
// its own rand.Rand.
type Namer struct{ n *namer }

// NewNamer builds the name tables.
func NewNamer() *Namer { return &Namer{n: newNamer()} }

// FullName draws the full name of a person of sex born in birthYear.
func (x *Namer) FullName(r *rand.Rand, sex cancuoc.Sex, birthYear int) string {
	return x.n.surname(r) + " " + x.n.givenName(r, sex, birthYear)
}
