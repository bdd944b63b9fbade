package mrtd

import (
	"errors"
	"fmt"
)

// Bounds on hostile input. A reader's bytes come from a device we do not
// control, so every structure is parsed within these limits and every value
// is a slice of the input: nothing is allocated in proportion to a length
// field, only to the input actually present.
const (
	// MaxDepth is the deepest nesting of constructed TLVs ParseTLV follows.
	MaxDepth = 16
	// MaxTagBytes bounds a tag's length; LDS tags have at most two bytes,
	// and three leaves room for other ISO 7816 data.
	MaxTagBytes = 3
	// MaxFileSize bounds one elementary file. DG2 with a face image is the
	// largest (tens of kilobytes on real cards); a megabyte is plenty.
	MaxFileSize = 1 << 20
)

// Tag is a BER tag as it is written, the bytes read big-endian: 0x61 for
// DG1, 0x5F1F for the MRZ, 0x7F61 for a biometric group.
type Tag uint32

// Constructed reports whether the tag's first byte has the constructed bit.
func (t Tag) Constructed() bool {
	b := uint32(t)
	for b > 0xFF {
		b >>= 8
	}
	return b&0x20 != 0
}

// String writes the tag in hex as specifications do ("5F1F").
func (t Tag) String() string { return fmt.Sprintf("%02X", uint32(t)) }

// TLV is one tag-length-value element. Value and Raw are slices of the
// input, never copies.
type TLV struct {
	Tag   Tag
	Value []byte
	Raw   []byte // the whole element: tag, length and value
	// Children are the parsed contents of a constructed element, filled by
	// ParseTLV only.
	Children []TLV
}

// errTLV is wrapped by every TLV error so callers can tell a malformed
// structure from other failures.
var errTLV = errors.New("malformed BER-TLV")

func tlvErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errTLV, fmt.Sprintf(format, a...))
}

// ReadTLV reads one element from the front of b and returns it with the
// bytes that follow. It accepts definite lengths of up to four bytes and
// refuses the indefinite form (LDS files are DER) and any length beyond the
// input or MaxFileSize.
func ReadTLV(b []byte) (TLV, []byte, error) {
	if len(b) < 2 {
		return TLV{}, nil, tlvErr("truncated element")
	}
	i := 1
	tag := uint32(b[0])
	if b[0]&0x1F == 0x1F {
		for {
			if i >= len(b) {
				return TLV{}, nil, tlvErr("truncated tag")
			}
			if i >= MaxTagBytes {
				return TLV{}, nil, tlvErr("tag longer than %d bytes", MaxTagBytes)
			}
			tag = tag<<8 | uint32(b[i])
			i++
			if b[i-1]&0x80 == 0 {
				break
			}
		}
	}
	if i >= len(b) {
		return TLV{}, nil, tlvErr("truncated length")
	}
	l := int(b[i])
	i++
	if l&0x80 != 0 {
		n := l & 0x7F
		if n == 0 {
			return TLV{}, nil, tlvErr("indefinite length")
		}
		if n > 4 {
			return TLV{}, nil, tlvErr("length of %d bytes", n)
		}
		if i+n > len(b) {
			return TLV{}, nil, tlvErr("truncated length")
		}
		l = 0
		for _, c := range b[i : i+n] {
			l = l<<8 | int(c)
		}
		i += n
	}
	if l > MaxFileSize || l > len(b)-i {
		return TLV{}, nil, tlvErr("tag %X: length %d exceeds the %d bytes present", tag, l, len(b)-i)
	}
	return TLV{Tag: Tag(tag), Value: b[i : i+l], Raw: b[:i+l]}, b[i+l:], nil
}

// ReadAll reads consecutive elements until b is used up.
func ReadAll(b []byte) ([]TLV, error) {
	var out []TLV
	for len(b) > 0 {
		t, rest, err := ReadTLV(b)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		b = rest
	}
	return out, nil
}

// ParseTLV parses b as exactly one element and, recursively, the children
// of every constructed element, up to MaxDepth levels.
func ParseTLV(b []byte) (TLV, error) {
	t, rest, err := ReadTLV(b)
	if err != nil {
		return TLV{}, err
	}
	if len(rest) != 0 {
		return TLV{}, tlvErr("%d bytes after the element", len(rest))
	}
	if err := t.parseChildren(1); err != nil {
		return TLV{}, err
	}
	return t, nil
}

func (t *TLV) parseChildren(depth int) error {
	if !t.Tag.Constructed() {
		return nil
	}
	if depth > MaxDepth {
		return tlvErr("nested deeper than %d", MaxDepth)
	}
	kids, err := ReadAll(t.Value)
	if err != nil {
		return err
	}
	for i := range kids {
		if err := kids[i].parseChildren(depth + 1); err != nil {
			return err
		}
	}
	t.Children = kids
	return nil
}

// Child returns the first direct child with the tag, reading t.Value.
func (t TLV) Child(tag Tag) (TLV, bool, error) {
	b := t.Value
	for len(b) > 0 {
		c, rest, err := ReadTLV(b)
		if err != nil {
			return TLV{}, false, err
		}
		if c.Tag == tag {
			return c, true, nil
		}
		b = rest
	}
	return TLV{}, false, nil
}

// expect reads b as one element with the given tag and nothing after it.
func expect(b []byte, tag Tag) (TLV, error) {
	t, rest, err := ReadTLV(b)
	if err != nil {
		return TLV{}, err
	}
	if t.Tag != tag {
		return TLV{}, tlvErr("tag %s where %s was expected", t.Tag, tag)
	}
	if len(rest) != 0 {
		return TLV{}, tlvErr("%d bytes after the element %s", len(rest), tag)
	}
	return t, nil
}
