// Package statuslist implements the IETF Token Status List
// (draft-ietf-oauth-status-list): a compressed array of 1, 2, 4 or 8-bit
// statuses, one per issued document, published as a signed JWT
// (typ statuslist+jwt) that verifiers cache and check offline.
//
// Status i of a list with b bits lives in byte i*b/8 at bit (i*b)%8,
// counting from the least significant bit; the byte array is compressed
// with DEFLATE in the zlib format and encoded base64url without padding.
package statuslist

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/cancuoc/cancuoc"
)

// Status values of the draft's registry.
const (
	Valid     byte = 0x00
	Invalid   byte = 0x01 // revoked, for good
	Suspended byte = 0x02
)

// MaxBytes bounds the decompressed size a parser accepts (a list of 64 Mi
// one-bit entries), so a small compressed bomb cannot exhaust memory.
const MaxBytes = 8 << 20

// List is a status list of Bits-bit entries.
type List struct {
	Bits int
	data []byte
}

// New returns a list of size entries, all Valid.
func New(bits, size int) (*List, error) {
	if err := checkBits(bits); err != nil {
		return nil, err
	}
	if size <= 0 || (size*bits+7)/8 > MaxBytes {
		return nil, cancuoc.InvalidField("statuslist.New", "size", "size_out_of_range",
			"Kích thước danh sách trạng thái không hợp lệ.", "The status list size is out of range.")
	}
	return &List{Bits: bits, data: make([]byte, (size*bits+7)/8)}, nil
}

func checkBits(bits int) error {
	switch bits {
	case 1, 2, 4, 8:
		return nil
	}
	return cancuoc.InvalidField("statuslist", "bits", "bits_invalid",
		"Số bit mỗi trạng thái phải là 1, 2, 4 hoặc 8.", "bits must be 1, 2, 4 or 8.")
}

// Len is the number of entries.
func (l *List) Len() int { return len(l.data) * 8 / l.Bits }

func (l *List) at(i int) (byteIdx int, shift uint, mask byte, ok bool) {
	if i < 0 || i >= l.Len() {
		return 0, 0, 0, false
	}
	bit := i * l.Bits
	return bit / 8, uint(bit % 8), byte(1<<l.Bits - 1), true
}

// Get returns the status at index i. Invalid error when i is out of range.
func (l *List) Get(i int) (byte, error) {
	b, s, m, ok := l.at(i)
	if !ok {
		return 0, outOfRange(i)
	}
	return (l.data[b] >> s) & m, nil
}

// Set stores status v at index i.
func (l *List) Set(i int, v byte) error {
	b, s, m, ok := l.at(i)
	if !ok {
		return outOfRange(i)
	}
	if v > m {
		return cancuoc.InvalidField("statuslist.Set", "status", "status_too_wide",
			"Giá trị trạng thái vượt quá số bit của danh sách.", fmt.Sprintf("Status %d does not fit in %d bits.", v, l.Bits))
	}
	l.data[b] = l.data[b]&^(m<<s) | v<<s
	return nil
}

func outOfRange(i int) error {
	return cancuoc.E(cancuoc.Invalid, "statuslist", "index_out_of_range",
		"Chỉ số không nằm trong danh sách trạng thái.", fmt.Sprintf("Index %d is outside the status list.", i))
}

// Encoded is the JSON form of a list (the status_list claim).
type Encoded struct {
	Bits int    `json:"bits"`
	Lst  string `json:"lst"`
}

// Encode compresses the list.
func (l *List) Encode() Encoded {
	var buf bytes.Buffer
	w, _ := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	_, _ = w.Write(l.data)
	_ = w.Close()
	return Encoded{Bits: l.Bits, Lst: base64.RawURLEncoding.EncodeToString(buf.Bytes())}
}

// Decode parses an encoded list, refusing anything malformed or larger
// than MaxBytes once decompressed.
func Decode(e Encoded) (*List, error) {
	const op = "statuslist.Decode"
	if err := checkBits(e.Bits); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(e.Lst)
	if err != nil {
		return nil, cancuoc.InvalidField(op, "lst", "lst_not_base64url",
			"Danh sách trạng thái không phải base64url.", "lst is not base64url (without padding).")
	}
	r, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, cancuoc.InvalidField(op, "lst", "lst_not_zlib",
			"Danh sách trạng thái không nén đúng định dạng zlib.", "lst is not zlib-compressed.")
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, cancuoc.InvalidField(op, "lst", "lst_corrupt",
			"Danh sách trạng thái bị hỏng.", "lst does not decompress: it is corrupt.")
	}
	if len(data) > MaxBytes {
		return nil, cancuoc.InvalidField(op, "lst", "lst_too_large",
			"Danh sách trạng thái quá lớn.", "lst is larger than this verifier accepts.")
	}
	if len(data) == 0 {
		return nil, cancuoc.InvalidField(op, "lst", "lst_empty", "Danh sách trạng thái rỗng.", "lst is empty.")
	}
	return &List{Bits: e.Bits, data: data}, nil
}
