package reconcile

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cancuoc/cancuoc"
)

// Index is an in-memory copy of the registry's match columns, built by one
// scan (cancuoc.MatchScanner) and then read by any number of goroutines:
// it answers MatchRecords and MatchCandidates as the stores do (without
// card numbers, which stay in the database), so the matcher's per-chunk
// queries become memory lookups. Everything is read from one snapshot of
// the registry, taken at At: a change committed after At is not seen.
//
// Layout, about 70 bytes per person plus the names (see Bytes): people
// sorted by PIN with a directory on the PIN's first six digits (province,
// century and sex, birth year), so a PIN is a short binary search; names in
// large byte blocks; units, sexes and life statuses interned; and two
// sorted arrays of blocking keys (birth date with the name key's last or
// first word, hashed, with the person's place), whose hits are checked
// against the person's own columns.
type Index struct {
	// At is the registry's snapshot time and Seq the highest outbox Seq
	// in it (cancuoc.MatchSnapshot).
	At  time.Time
	Seq int64
	// Origin says where the index came from (a scan, a file), for the
	// operator; empty for BuildIndex's.
	Origin string
	people []person
	dir    []uint32 // dir[p] is the first person whose PIN starts with the 6 digits p; dir[1e6] = len
	blocks [][]byte // the names: full name then name key, per person
	units  []cancuoc.UnitRef
	words  []string // interned sexes and life statuses
	last   []uint64 // blocking keys: hash (high bits) and person (low personBits)
	first  []uint64
	// lastDir and firstDir are directories of the blocking keys on the
	// hash's top keyDirBits bits: keys with top bits t are at
	// dir[t]..dir[t+1], so a probe searches a few keys, not all of them.
	lastDir, firstDir []uint32
	// top holds the people changed since the snapshot the rest was built
	// from (ApplyChanges), and gone marks (one bit per person) the ones
	// of the rest it replaces or that are no longer in the registry.
	top  *Index
	gone []uint64
}

type person struct {
	pin         uint64
	name        uint32 // block (high 6 bits) and offset in it
	nameLen     uint16
	keyLen      uint16
	year        uint16
	month, day  uint8
	sex, status uint8  // in words
	home        uint32 // in units
	// firstEnd and lastStart bound the name key's first and last words
	// (the blocking words), so checking a blocking hit reads no key.
	firstEnd, lastStart uint16
}

const (
	personBits = 28 // up to 268 million people
	blockBits  = 26 // 64 MiB blocks of names
	maxBlocks  = 1 << (32 - blockBits)
	dirSize    = 1_000_000
)

// IndexBuilder collects scanned records into an Index.
type indexBuilder struct {
	ix    *Index
	units map[cancuoc.UnitRef]uint32
	words map[string]uint8
}

// BuildIndex scans the registry once and returns its index.
//
// The store's decoding of the rows and the copying of them into the index
// run on two goroutines: the scan hands each batch over and reads the
// next while the builder takes the last one in (at most two batches wait).
// A store that does not hand batches over as fast gains nothing and loses
// nothing.
func BuildIndex(ctx context.Context, s cancuoc.MatchScanner) (*Index, error) {
	const batch = 20000
	b := newBuilder()
	full := make(chan []cancuoc.MatchRecord, 2)
	free := make(chan []cancuoc.MatchRecord, 3)
	var failed atomic.Pointer[error]
	done := make(chan struct{})
	go func() {
		defer close(done)
		for recs := range full {
			if failed.Load() == nil {
				if err := b.add(recs); err != nil {
					failed.Store(&err)
				}
			}
			select {
			case free <- recs[:0]:
			default: // the scan has enough buffers (or has ended)
			}
		}
	}()
	snap, err := s.ScanMatchRecords(ctx, batch, func(recs []cancuoc.MatchRecord) error {
		if e := failed.Load(); e != nil {
			return *e
		}
		var buf []cancuoc.MatchRecord
		select {
		case buf = <-free:
		default:
			buf = make([]cancuoc.MatchRecord, 0, batch)
		}
		// The store reuses its batch after this returns: the builder
		// gets a copy (the records' strings are the store's to give).
		full <- append(buf, recs...)
		return nil
	})
	close(full)
	<-done
	if e := failed.Load(); e != nil && err == nil {
		err = *e
	}
	if err != nil {
		return nil, err
	}
	b.ix.At, b.ix.Seq = snap.At, snap.Seq
	return b.ix, b.finish()
}

func newBuilder() *indexBuilder {
	return &indexBuilder{ix: &Index{}, units: map[cancuoc.UnitRef]uint32{}, words: map[string]uint8{}}
}

func (b *indexBuilder) add(recs []cancuoc.MatchRecord) error {
	ix := b.ix
	for i := range recs {
		m := &recs[i]
		pin, err := strconv.ParseUint(string(m.PIN), 10, 64)
		if err != nil || len(m.PIN) != 12 {
			return fmt.Errorf("reconcile: the registry holds a malformed PIN (%d characters)", len(m.PIN))
		}
		if len(ix.people) >= 1<<personBits {
			return fmt.Errorf("reconcile: the registry is larger than the in-memory index holds (%d people)", 1<<personBits)
		}
		ref, err := b.text(m.FullName, m.NameKey)
		if err != nil {
			return err
		}
		ix.people = append(ix.people, person{pin: pin, name: ref, nameLen: uint16(len(m.FullName)),
			keyLen: uint16(len(m.NameKey)), year: uint16(m.BirthDate.Year), month: uint8(m.BirthDate.Month),
			day: uint8(m.BirthDate.Day), sex: b.word(string(m.Sex)), status: b.word(string(m.LifeStatus)),
			home: b.unit(m.Home), firstEnd: uint16(len(firstWordOf(m.NameKey))),
			lastStart: uint16(len(m.NameKey) - len(lastWordOf(m.NameKey)))})
	}
	return nil
}

// text appends a full name and name key to the blocks.
func (b *indexBuilder) text(name, key string) (uint32, error) {
	ix := b.ix
	n := len(name) + len(key)
	if len(name) > 0xffff || len(key) > 0xffff {
		return 0, fmt.Errorf("reconcile: a registry name is longer than 65,535 bytes")
	}
	if len(ix.blocks) == 0 || len(ix.blocks[len(ix.blocks)-1])+n > 1<<blockBits {
		if len(ix.blocks) == maxBlocks {
			return 0, fmt.Errorf("reconcile: the registry's names exceed the in-memory index (%d GiB)", maxBlocks>>4)
		}
		ix.blocks = append(ix.blocks, make([]byte, 0, 1<<blockBits))
	}
	k := len(ix.blocks) - 1
	blk := ix.blocks[k]
	off := len(blk)
	blk = append(blk, name...)
	ix.blocks[k] = append(blk, key...)
	return uint32(k)<<blockBits | uint32(off), nil
}

func (b *indexBuilder) word(s string) uint8 {
	if w, ok := b.words[s]; ok {
		return w
	}
	w := uint8(len(b.ix.words)) // sexes and statuses: a handful of values
	b.ix.words = append(b.ix.words, s)
	b.words[s] = w
	return w
}

func (b *indexBuilder) unit(u cancuoc.UnitRef) uint32 {
	if x, ok := b.units[u]; ok {
		return x
	}
	x := uint32(len(b.ix.units))
	b.ix.units = append(b.ix.units, u)
	b.units[u] = x
	return x
}

// finish sorts the people by PIN and builds the directory and the
// blocking keys.
func (b *indexBuilder) finish() error {
	ix := b.ix
	if len(b.ix.words) > 255 {
		return fmt.Errorf("reconcile: too many distinct sexes and life statuses in the registry")
	}
	sortPeople(ix.people)
	ix.dir = peopleDir(ix.people)
	// The two arrays of blocking keys are independent: built and sorted
	// side by side.
	var wg sync.WaitGroup
	wg.Go(func() { ix.last, ix.lastDir = ix.blockKeys(false) })
	wg.Go(func() { ix.first, ix.firstDir = ix.blockKeys(true) })
	wg.Wait()
	return nil
}

// peopleDir builds the directory of people sorted by PIN on the PIN's
// first six digits.
func peopleDir(ps []person) []uint32 {
	dir := make([]uint32, dirSize+1)
	p := 0
	for d := range dirSize + 1 {
		for p < len(ps) && ps[p].pin/1_000_000 < uint64(d) {
			p++
		}
		dir[d] = uint32(p)
	}
	return dir
}

// sortPeople sorts people by PIN on two goroutines: one pass splits them
// around the median of a sample, then each side is sorted on its own. The
// sort is in the job's way (no record is matched before the index is
// built), about 3 s on one core for 10 million people.
func sortPeople(ps []person) {
	byPIN := func(a, b person) int {
		switch {
		case a.pin < b.pin:
			return -1
		case a.pin > b.pin:
			return 1
		}
		return 0
	}
	if len(ps) < parallelSortFrom {
		slices.SortFunc(ps, byPIN)
		return
	}
	var sample [255]uint64
	for i := range sample {
		sample[i] = ps[i*(len(ps)-1)/(len(sample)-1)].pin
	}
	slices.Sort(sample[:])
	pivot := sample[len(sample)/2]
	low := 0 // ps[:low] are below the pivot
	for j := range ps {
		if ps[j].pin < pivot {
			ps[low], ps[j] = ps[j], ps[low]
			low++
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { slices.SortFunc(ps[:low], byPIN) })
	slices.SortFunc(ps[low:], byPIN)
	wg.Wait()
}

// parallelSortFrom is the number of people from which sortPeople uses two
// goroutines (a variable for tests).
var parallelSortFrom = 1 << 16

// blockKeys builds the sorted blocking keys on the first or the last word
// of every person's name key, and their directory.
func (ix *Index) blockKeys(first bool) ([]uint64, []uint32) {
	keys := make([]uint64, 0, len(ix.people))
	for i := range ix.people {
		e := &ix.people[i]
		if e.keyLen == 0 {
			continue
		}
		d := cancuoc.Date{Year: int(e.year), Month: int(e.month), Day: int(e.day)}
		keys = append(keys, blockKey(d, ix.blockWord(e, first))|uint64(i))
	}
	slices.Sort(keys)
	return keys, keyDir(keys)
}

const keyDirBits = 20

// keyDir builds the directory of sorted blocking keys.
func keyDir(keys []uint64) []uint32 {
	dir := make([]uint32, 1<<keyDirBits+1)
	k := 0
	for t := range dir {
		for k < len(keys) && keys[k]>>(64-keyDirBits) < uint64(t) {
			k++
		}
		dir[t] = uint32(k)
	}
	return dir
}

// Len is the number of people in the index.
func (ix *Index) Len() int {
	if ix.top == nil {
		return len(ix.people)
	}
	return len(ix.people) - ix.goneCount() + ix.top.Len()
}

// Bytes is the memory the index holds (its arrays and name blocks).
func (ix *Index) Bytes() int64 {
	n := int64(len(ix.people))*int64(unsafe.Sizeof(person{})) + int64(len(ix.dir)+len(ix.lastDir)+len(ix.firstDir))*4 +
		int64(len(ix.last)+len(ix.first))*8 + int64(len(ix.units))*32
	for _, b := range ix.blocks {
		n += int64(cap(b))
	}
	if ix.top != nil {
		n += ix.top.Bytes() + int64(len(ix.gone))*8
	}
	return n
}

// blockKey hashes a birth date and a word into the high bits of a key.
// The hash is the same in every process (FNV-1a of the word, then mixed
// with the date), so that an index saved to a file (SaveIndex) is probed
// by the process that loads it. Registry names are not chosen by the
// partner whose records probe them, and a collision only costs a check of
// the person's own columns.
func blockKey(d cancuoc.Date, word string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(word); i++ {
		h ^= uint64(word[i])
		h *= 1099511628211
	}
	h ^= (uint64(d.Year)<<16 | uint64(d.Month)<<8 | uint64(d.Day)) * 0x9e3779b97f4a7c15
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 32
	return h &^ (1<<personBits - 1)
}

func (ix *Index) name(e *person) string {
	if e.nameLen == 0 {
		return ""
	}
	blk := ix.blocks[e.name>>blockBits]
	off := e.name & (1<<blockBits - 1)
	return unsafe.String(&blk[off], int(e.nameLen))
}

func (ix *Index) key(e *person) string {
	if e.keyLen == 0 {
		return ""
	}
	blk := ix.blocks[e.name>>blockBits]
	off := e.name&(1<<blockBits-1) + uint32(e.nameLen)
	return unsafe.String(&blk[off], int(e.keyLen))
}

// blockWord is the first or the last word of a person's name key.
func (ix *Index) blockWord(e *person, first bool) string {
	k := ix.key(e)
	if first {
		return k[:e.firstEnd]
	}
	return k[e.lastStart:]
}

// record is a person's match columns; pin is their PIN's text (the
// caller's own, when it has it, which saves formatting one).
func (ix *Index) record(e *person, pin cancuoc.PIN) cancuoc.MatchRecord {
	return cancuoc.MatchRecord{PIN: pin, FullName: ix.name(e), NameKey: ix.key(e),
		BirthDate: cancuoc.Date{Year: int(e.year), Month: int(e.month), Day: int(e.day)},
		Sex:       cancuoc.Sex(ix.words[e.sex]), LifeStatus: cancuoc.LifeStatus(ix.words[e.status]),
		Home: ix.units[e.home]}
}

func pinText(p uint64) cancuoc.PIN {
	var b [12]byte
	for i := 11; i >= 0; i-- {
		b[i] = byte('0' + p%10)
		p /= 10
	}
	return cancuoc.PIN(b[:])
}

// lookup returns the person with the PIN and the index that holds them
// (this one, or the changes on top of it), or nil.
func (ix *Index) lookup(pin cancuoc.PIN) (*Index, *person) {
	if len(pin) != 12 {
		return nil, nil
	}
	n, err := strconv.ParseUint(string(pin), 10, 64)
	if err != nil {
		return nil, nil
	}
	if ix.top != nil {
		if i := ix.top.find(n); i >= 0 {
			return ix.top, &ix.top.people[i]
		}
	}
	if i := ix.find(n); i >= 0 && !ix.isGone(i) {
		return ix, &ix.people[i]
	}
	return nil, nil
}

// find returns the place of the person with the PIN n, or -1.
func (ix *Index) find(n uint64) int {
	d := n / 1_000_000
	if d >= dirSize {
		return -1
	}
	lo, hi := int(ix.dir[d]), int(ix.dir[d+1])
	if i, ok := searchSerial(ix.people[lo:hi], n); ok {
		return lo + i
	}
	return -1
}

// isGone reports whether the person at i was replaced or removed by the
// changes on top.
func (ix *Index) isGone(i int) bool {
	return ix.gone != nil && ix.gone[i>>6]&(1<<(i&63)) != 0
}

// searchSerial finds the PIN n among ps, sorted people who share its first
// six digits. The registry draws the last six digits (the serial) at
// random, so the serial's share of a million is about where the PIN sits
// in ps: the search starts there and gallops outwards, a probe or two
// where a binary search takes ten cache misses in a national registry's
// buckets of about a thousand people. Serials that are not uniform only
// cost the gallop, never a wrong answer: the bracket found is searched
// exactly.
func searchSerial(ps []person, n uint64) (int, bool) {
	if len(ps) == 0 {
		return 0, false
	}
	i := int(startOf(n, uint32(len(ps))))
	lo, hi := 0, len(ps) // n is in ps[lo:hi] if anywhere
	if ps[i].pin < n {
		for step := 1; ; step *= 2 {
			lo = i + 1
			if i+step >= len(ps) {
				break
			}
			if ps[i+step].pin >= n {
				hi = i + step + 1
				break
			}
			i += step
		}
	} else {
		for step := 1; ; step *= 2 {
			hi = i + 1
			if i-step < 0 {
				break
			}
			if ps[i-step].pin < n {
				lo = i - step
				break
			}
			i -= step
		}
	}
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if ps[m].pin < n {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(ps) && ps[lo].pin == n
}

// MatchRecords answers as cancuoc.ReconcileStore.MatchRecords, from the
// snapshot. Card numbers are not in the index: cards must be false.
func (ix *Index) MatchRecords(_ context.Context, pins []cancuoc.PIN, cards bool) ([]cancuoc.MatchRecord, error) {
	if cards {
		return nil, fmt.Errorf("reconcile: the in-memory index holds no card numbers")
	}
	out := make([]cancuoc.MatchRecord, 0, len(pins))
	ix.lookupAll(pins, func(k int, at *Index, e *person) { out = append(out, at.record(e, pins[k])) })
	return out, nil
}

// recordsInOrder returns the record of each PIN at its place (a zero
// record, PIN "", for an unknown PIN), where MatchRecords leaves unknown
// PINs out.
func (ix *Index) recordsInOrder(pins []cancuoc.PIN) []cancuoc.MatchRecord {
	out := make([]cancuoc.MatchRecord, len(pins))
	ix.lookupAll(pins, func(k int, at *Index, e *person) { out[k] = at.record(e, pins[k]) })
	return out
}

// lookupBatch is how many PINs lookupAll looks up together: enough
// independent cache misses to keep the memory busy, few enough that the
// lines they bring stay in the cache until the last pass reads them.
const lookupBatch = 64

// lookupAll calls fn, in order, with each PIN's place among pins and the
// person with that PIN and the index holding them, as lookup finds them
// (PINs it does not find are skipped). It looks PINs up lookupBatch at a
// time, in passes of independent loads: the directory entries of the
// whole batch, then the person where each search starts, then the
// searches. One PIN at a time, each lookup waits for its directory miss,
// then its person miss (the index is 800 MB at 10 million people: nearly
// every lookup misses the cache twice); in passes the misses of a batch
// overlap, and the searches find their lines in the cache.
func (ix *Index) lookupAll(pins []cancuoc.PIN, fn func(k int, at *Index, e *person)) {
	var (
		ns     [lookupBatch]uint64
		lo, hi [lookupBatch]uint32
		first  [lookupBatch]uint64
	)
	const none = math.MaxUint64
	for start := 0; start < len(pins); start += lookupBatch {
		batch := pins[start:min(start+lookupBatch, len(pins))]
		for k, p := range batch {
			ns[k] = none
			if len(p) != 12 {
				continue
			}
			n, err := strconv.ParseUint(string(p), 10, 64)
			if err != nil || n/1_000_000 >= dirSize {
				continue
			}
			d := n / 1_000_000
			ns[k], lo[k], hi[k] = n, ix.dir[d], ix.dir[d+1]
		}
		for k := range batch {
			if ns[k] != none && lo[k] < hi[k] {
				first[k] = ix.people[lo[k]+startOf(ns[k], hi[k]-lo[k])].pin
			}
		}
		for k := range batch {
			n := ns[k]
			if n == none {
				continue
			}
			if ix.top != nil {
				if i := ix.top.find(n); i >= 0 {
					fn(start+k, ix.top, &ix.top.people[i])
					continue
				}
			}
			if lo[k] == hi[k] {
				continue
			}
			i := int(lo[k] + startOf(n, hi[k]-lo[k]))
			if first[k] != n { // the search's start was not the person: search
				j, ok := searchSerial(ix.people[lo[k]:hi[k]], n)
				if !ok {
					continue
				}
				i = int(lo[k]) + j
			}
			if !ix.isGone(i) {
				fn(start+k, ix, &ix.people[i])
			}
		}
	}
}

// startOf is where searchSerial starts looking for the PIN n among m people
// who share its first six digits.
func startOf(n uint64, m uint32) uint32 { return uint32(n % 1_000_000 * uint64(m) / 1_000_000) }

// MatchCandidates answers as cancuoc.ReconcileStore.MatchCandidates, from
// the snapshot (FullName empty, as the stores leave it). Each probe's
// candidates come in PIN order, the changes on top merged in, as an index
// built afresh gives them.
func (ix *Index) MatchCandidates(_ context.Context, probes []cancuoc.MatchProbe, limit int) ([]cancuoc.MatchCandidate, error) {
	if limit <= 0 {
		limit = 1 << 30
	}
	out := make([]cancuoc.MatchCandidate, 0, len(probes))
	for _, p := range probes {
		from := len(out)
		out = ix.candidates(out, p, limit)
		if ix.top != nil {
			mid := len(out)
			out = ix.top.candidates(out, p, limit)
			if len(out) > mid && mid > from {
				slices.SortStableFunc(out[from:], func(a, b cancuoc.MatchCandidate) int {
					return cmp.Compare(a.PIN, b.PIN)
				})
			}
			out = out[:min(len(out), from+limit)]
		}
	}
	return out, nil
}

// candidates appends the people of one probe's block, up to limit, in PIN
// order (skipping those the changes on top replace).
func (ix *Index) candidates(out []cancuoc.MatchCandidate, p cancuoc.MatchProbe, limit int) []cancuoc.MatchCandidate {
	keys, dir := ix.last, ix.lastDir
	if p.ByFirst {
		keys, dir = ix.first, ix.firstDir
	}
	if len(dir) == 0 {
		return out
	}
	h := blockKey(p.Date, p.Token)
	top := h >> (64 - keyDirBits)
	lo, hi := int(dir[top]), int(dir[top+1])
	i, _ := slices.BinarySearch(keys[lo:hi], h)
	n := 0
	for i += lo; i < hi && keys[i]&^(1<<personBits-1) == h && n < limit; i++ {
		k := int(keys[i] & (1<<personBits - 1))
		e := &ix.people[k]
		if int(e.year) != p.Date.Year || int(e.month) != p.Date.Month || int(e.day) != p.Date.Day ||
			ix.blockWord(e, p.ByFirst) != p.Token || ix.isGone(k) {
			continue // another key with the same hash, or replaced
		}
		c := cancuoc.MatchCandidate{Ref: p.Ref, MatchRecord: ix.record(e, pinText(e.pin))}
		c.FullName = ""
		out = append(out, c)
		n++
	}
	return out
}

// lastWordOf and firstWordOf are the words of a name key the stores'
// blocking expressions take (00011): after the last space, before the
// first.
func lastWordOf(key string) string {
	for i := len(key) - 1; i >= 0; i-- {
		if key[i] == ' ' {
			return key[i+1:]
		}
	}
	return key
}

func firstWordOf(key string) string {
	for i := 0; i < len(key); i++ {
		if key[i] == ' ' {
			return key[:i]
		}
	}
	return key
}
