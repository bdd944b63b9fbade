package reconcile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"
	"unsafe"

	"github.com/cancuoc/cancuoc"
)

// An index file keeps a built Index between jobs, so that a job reads
// about 80 bytes a person from a local file instead of scanning the
// registry (whose match columns sit among the citizens' documents: about
// 1.5 KB a person to read, 15 GB for a national registry, and as much
// PostgreSQL CPU as the whole matching). The file holds the index's arrays
// as they are in memory, the registry's snapshot it was built from (time
// and outbox Seq) and a key naming the registry; a CRC-32C of everything
// guards against a torn or damaged file. The arrays' own invariants are
// checked when read, so a damaged or forged file is refused, never
// trusted into an out-of-range read.
//
// It holds personal data (names, birth dates, home units of every
// citizen): it is written 0600, like the database it copies.

// indexMagic starts an index file; indexVersion changes with the layout of
// person or of the file.
const (
	indexMagic   = "CCIDX\x00\x00\x01"
	indexVersion = 1
)

// indexHeader is the fixed start of an index file.
type indexHeader struct {
	Magic      [8]byte
	Version    uint32
	PersonSize uint32 // unsafe.Sizeof(person{}): a build with another layout refuses the file
	Order      uint32 // 0x01020304 as written: a machine of the other byte order refuses it
	KeyLen     uint32
	At         int64 // Unix nanoseconds
	Seq        int64
	People     uint64
	Blocks     uint32
	Units      uint32
	Words      uint32
	_          uint32
	Last       uint64
	First      uint64
}

// SaveIndex writes ix to path atomically (a temporary file beside it,
// synced, then renamed), with key naming the registry it was built from.
// Only an index without changes on top can be saved.
func SaveIndex(path, key string, ix *Index) error {
	if ix.top != nil || ix.gone != nil {
		return errors.New("reconcile: an index with changes on top cannot be saved")
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if tmp != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	crc := crc32.New(castagnoli)
	w := bufio.NewWriterSize(io.MultiWriter(tmp, crc), 1<<20)
	h := indexHeader{Version: indexVersion, PersonSize: uint32(unsafe.Sizeof(person{})), Order: 0x01020304,
		KeyLen: uint32(len(key)), At: ix.At.UnixNano(), Seq: ix.Seq, People: uint64(len(ix.people)),
		Blocks: uint32(len(ix.blocks)), Units: uint32(len(ix.units)), Words: uint32(len(ix.words)),
		Last: uint64(len(ix.last)), First: uint64(len(ix.first))}
	copy(h.Magic[:], indexMagic)
	write := func(b []byte) {
		if err == nil {
			_, err = w.Write(b)
		}
	}
	write(bytesOf(&h, 1))
	write([]byte(key))
	write(bytesOf(unsafe.SliceData(ix.people), len(ix.people)))
	for _, b := range ix.blocks {
		write(binary.NativeEndian.AppendUint32(nil, uint32(len(b))))
		write(b)
	}
	var strs []byte
	for _, u := range ix.units {
		strs = appendString(appendString(strs, u.Province), u.Commune)
	}
	for _, s := range ix.words {
		strs = appendString(strs, s)
	}
	write(binary.NativeEndian.AppendUint32(nil, uint32(len(strs))))
	write(strs)
	write(bytesOf(unsafe.SliceData(ix.last), len(ix.last)))
	write(bytesOf(unsafe.SliceData(ix.first), len(ix.first)))
	if err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if _, err := tmp.Write(binary.NativeEndian.AppendUint32(nil, crc.Sum32())); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	tmp = nil
	// The rename is durable once the directory is synced.
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// bytesOf is the memory of n values starting at p, as bytes (the index's
// arrays hold no pointers).
func bytesOf[T any](p *T, n int) []byte {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), n*int(unsafe.Sizeof(*p)))
}

func appendString(b []byte, s string) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// ErrIndexFile is wrapped by LoadIndex's refusals of a file that is not a
// whole index of this build for the registry named (damaged, torn, from
// another version or another registry): the caller builds a new one.
var ErrIndexFile = errors.New("reconcile: unusable index file")

// LoadIndex reads an index saved by SaveIndex for the registry named key.
// A missing file is an error satisfying errors.Is(err, fs.ErrNotExist).
func LoadIndex(path, key string) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return readIndex(bufio.NewReaderSize(f, 1<<20), st.Size(), key)
}

// readIndex reads an index file of size bytes from r. Every length is
// checked against the bytes left before anything is allocated for it.
func readIndex(r io.Reader, size int64, key string) (*Index, error) {
	bad := func(what string) error { return fmt.Errorf("%w: %s", ErrIndexFile, what) }
	crc := crc32.New(castagnoli)
	tr := io.TeeReader(r, crc)
	left := size - 4 // the CRC at the end
	read := func(b []byte) error {
		if int64(len(b)) > left {
			return bad("shorter than its lengths say")
		}
		left -= int64(len(b))
		if _, err := io.ReadFull(tr, b); err != nil {
			return bad("shorter than its lengths say")
		}
		return nil
	}
	var h indexHeader
	if err := read(bytesOf(&h, 1)); err != nil {
		return nil, err
	}
	switch {
	case string(h.Magic[:]) != indexMagic:
		return nil, bad("not an index file")
	case h.Version != indexVersion || h.PersonSize != uint32(unsafe.Sizeof(person{})) || h.Order != 0x01020304:
		return nil, bad("written by another version")
	case int64(h.KeyLen) != int64(len(key)):
		return nil, bad("of another registry")
	}
	kb := make([]byte, len(key))
	if err := read(kb); err != nil {
		return nil, err
	}
	if string(kb) != key {
		return nil, bad("of another registry")
	}
	if h.People > 1<<personBits || h.Blocks > maxBlocks || h.Last > h.People || h.First > h.People ||
		int64(h.People)*int64(unsafe.Sizeof(person{}))+int64(h.Last+h.First)*8 > left {
		return nil, bad("shorter than its lengths say")
	}
	ix := &Index{At: time.Unix(0, h.At), Seq: h.Seq, people: make([]person, h.People)}
	if err := read(bytesOf(unsafe.SliceData(ix.people), len(ix.people))); err != nil {
		return nil, err
	}
	var n [4]byte
	for range h.Blocks {
		if err := read(n[:]); err != nil {
			return nil, err
		}
		l := binary.NativeEndian.Uint32(n[:])
		if l > 1<<blockBits || int64(l) > left {
			return nil, bad("a name block is too long")
		}
		b := make([]byte, l) // never appended to: changes go to an index on top
		if err := read(b); err != nil {
			return nil, err
		}
		ix.blocks = append(ix.blocks, b)
	}
	if err := read(n[:]); err != nil {
		return nil, err
	}
	l := binary.NativeEndian.Uint32(n[:])
	if int64(l) > left {
		return nil, bad("shorter than its lengths say")
	}
	strs := make([]byte, l)
	if err := read(strs); err != nil {
		return nil, err
	}
	var ok bool
	if ix.units, ix.words, ok = readStrings(strs, int(h.Units), int(h.Words)); !ok {
		return nil, bad("its units and words do not fit")
	}
	if int64(h.Last+h.First)*8 > left {
		return nil, bad("shorter than its lengths say")
	}
	ix.last, ix.first = make([]uint64, h.Last), make([]uint64, h.First)
	if err := read(bytesOf(unsafe.SliceData(ix.last), len(ix.last))); err != nil {
		return nil, err
	}
	if err := read(bytesOf(unsafe.SliceData(ix.first), len(ix.first))); err != nil {
		return nil, err
	}
	if left != 0 {
		return nil, bad("longer than its lengths say")
	}
	sum := crc.Sum32()
	if _, err := io.ReadFull(r, n[:]); err != nil || binary.NativeEndian.Uint32(n[:]) != sum {
		return nil, bad("damaged (checksum)")
	}
	if !ix.valid() {
		return nil, bad("its arrays are inconsistent")
	}
	ix.dir = peopleDir(ix.people)
	ix.lastDir, ix.firstDir = keyDir(ix.last), keyDir(ix.first)
	return ix, nil
}

// readStrings decodes the units and then the words written by SaveIndex,
// and reports whether they fill strs exactly.
func readStrings(strs []byte, units, words int) ([]cancuoc.UnitRef, []string, bool) {
	next := func() (string, bool) {
		if len(strs) < 2 {
			return "", false
		}
		l := int(binary.NativeEndian.Uint16(strs))
		if len(strs) < 2+l {
			return "", false
		}
		s := string(strs[2 : 2+l])
		strs = strs[2+l:]
		return s, true
	}
	if units > len(strs) || words > len(strs) {
		return nil, nil, false
	}
	us := make([]cancuoc.UnitRef, units)
	for i := range us {
		p, ok1 := next()
		c, ok2 := next()
		if !ok1 || !ok2 {
			return nil, nil, false
		}
		us[i] = cancuoc.UnitRef{Province: p, Commune: c}
	}
	ws := make([]string, words)
	for i := range ws {
		var ok bool
		if ws[i], ok = next(); !ok {
			return nil, nil, false
		}
	}
	return us, ws, len(strs) == 0
}

// valid checks what lookups rely on: people in strictly increasing PIN
// order, every reference inside its array, the blocking keys sorted and
// naming people.
func (ix *Index) valid() bool {
	for i := range ix.people {
		e := &ix.people[i]
		if e.pin >= 1e12 || (i > 0 && ix.people[i-1].pin >= e.pin) || int(e.sex) >= len(ix.words) ||
			int(e.status) >= len(ix.words) || int(e.home) >= len(ix.units) || e.firstEnd > e.keyLen ||
			e.lastStart > e.keyLen {
			return false
		}
		if e.nameLen+e.keyLen == 0 {
			continue
		}
		b := int(e.name >> blockBits)
		if b >= len(ix.blocks) || int(e.name&(1<<blockBits-1))+int(e.nameLen)+int(e.keyLen) > len(ix.blocks[b]) {
			return false
		}
	}
	for _, keys := range [][]uint64{ix.last, ix.first} {
		if !slices.IsSorted(keys) {
			return false
		}
		for _, k := range keys {
			if int(k&(1<<personBits-1)) >= len(ix.people) {
				return false
			}
		}
	}
	return true
}
