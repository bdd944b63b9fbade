package mrtd

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// File tags of the Logical Data Structure (Doc 9303 Part 10 §4.6). The data
// group numbers used throughout the package are 1–16; 0 stands for EF.COM
// nowhere: COM and SOD are separate fields of ChipData.
const (
	TagCOM Tag = 0x60
	TagSOD Tag = 0x77
)

// dgTags maps a data group number (index) to its file tag.
var dgTags = [17]Tag{0, 0x61, 0x75, 0x63, 0x76, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x6F, 0x70}

// DGTag returns the file tag of data group n (1–16), or 0.
func DGTag(n int) Tag {
	if n < 1 || n > 16 {
		return 0
	}
	return dgTags[n]
}

// DGNumber returns the data group number of a file tag, or 0.
func DGNumber(t Tag) int {
	for n, dt := range dgTags {
		if n > 0 && dt == t {
			return n
		}
	}
	return 0
}

// COM is EF.COM: the LDS and Unicode versions and the list of data groups
// present. It is not covered by the SOD, so it is only a hint; Verify
// reports disagreements with the data groups actually sent.
type COM struct {
	LDSVersion     string // "0107" for LDS 1.7
	UnicodeVersion string // "040000"
	DataGroups     []int  // numbers, in the order listed
}

// ParseCOM parses EF.COM (tag 60: 5F01 LDS version, 5F36 Unicode version,
// 5C tag list).
func ParseCOM(b []byte) (*COM, error) {
	t, err := expect(b, TagCOM)
	if err != nil {
		return nil, fmt.Errorf("EF.COM: %w", err)
	}
	kids, err := ReadAll(t.Value)
	if err != nil {
		return nil, fmt.Errorf("EF.COM: %w", err)
	}
	var c COM
	for _, k := range kids {
		switch k.Tag {
		case 0x5F01:
			c.LDSVersion = string(k.Value)
		case 0x5F36:
			c.UnicodeVersion = string(k.Value)
		case 0x5C:
			// The list holds one-byte tags; 16 data groups at most.
			if len(k.Value) > 16 {
				return nil, fmt.Errorf("EF.COM: %w", tlvErr("tag list of %d entries", len(k.Value)))
			}
			for _, tb := range k.Value {
				n := DGNumber(Tag(tb))
				if n == 0 {
					return nil, fmt.Errorf("EF.COM: %w", tlvErr("unknown data group tag %02X", tb))
				}
				c.DataGroups = append(c.DataGroups, n)
			}
		}
	}
	return &c, nil
}

// Encode writes EF.COM.
func (c *COM) Encode() []byte {
	list := make([]byte, 0, len(c.DataGroups))
	for _, n := range c.DataGroups {
		list = append(list, byte(DGTag(n)))
	}
	var v []byte
	v = appendTLV(v, 0x5F01, []byte(c.LDSVersion))
	v = appendTLV(v, 0x5F36, []byte(c.UnicodeVersion))
	v = appendTLV(v, 0x5C, list)
	return appendTLV(nil, TagCOM, v)
}

// ParseDG1 returns the MRZ held in DG1 (tag 61, 5F1F) parsed as TD1.
func ParseDG1(b []byte) (*TD1, error) {
	t, err := expect(b, dgTags[1])
	if err != nil {
		return nil, fmt.Errorf("DG1: %w", err)
	}
	m, ok, err := t.Child(0x5F1F)
	if err != nil {
		return nil, fmt.Errorf("DG1: %w", err)
	}
	if !ok {
		return nil, fmt.Errorf("DG1: %w", tlvErr("no MRZ element 5F1F"))
	}
	if len(m.Value) != td1Lines*td1Width {
		return nil, fmt.Errorf("DG1: MRZ of %d characters is not TD1 (90)", len(m.Value))
	}
	return ParseTD1(string(m.Value))
}

// EncodeDG1 writes DG1 for a TD1 zone.
func EncodeDG1(t *TD1) []byte {
	mrz := t.Lines[0] + t.Lines[1] + t.Lines[2]
	return appendTLV(nil, dgTags[1], appendTLV(nil, 0x5F1F, []byte(mrz)))
}

// ImageFormat of a face image in DG2.
type ImageFormat string

// Face image formats of ISO/IEC 19794-5 (image data type 0 and 1).
const (
	JPEG     ImageFormat = "image/jpeg"
	JPEG2000 ImageFormat = "image/jp2"
)

// FaceImage is the first face of DG2: the image bytes (a slice of the DG2
// input) and what the facial record header says about them.
type FaceImage struct {
	Format ImageFormat
	Width  int
	Height int
	Image  []byte
}

// ISO/IEC 19794-5 record layout sizes, in bytes.
const (
	faceGeneralHeader = 14 // "FAC\0", version, record length (4), number of faces (2)
	faceInfoBlock     = 20 // block length (4) … pose uncertainty
	faceFeaturePoint  = 8
	faceImageInfo     = 12
)

// ParseDG2 extracts the first face image from DG2: 75 → 7F61 (biometric
// information group) → 7F60 (biometric information template) → 5F2E (the
// ISO/IEC 19794-5 facial record). The image format is taken from the record
// and must agree with the image's own signature bytes.
func ParseDG2(b []byte) (*FaceImage, error) {
	t, err := expect(b, dgTags[2])
	if err != nil {
		return nil, fmt.Errorf("DG2: %w", err)
	}
	group, ok, err := t.Child(0x7F61)
	if err != nil || !ok {
		return nil, fmt.Errorf("DG2: %w", orMissing(err, "7F61"))
	}
	bit, ok, err := group.Child(0x7F60)
	if err != nil || !ok {
		return nil, fmt.Errorf("DG2: %w", orMissing(err, "7F60"))
	}
	bdb, ok, err := bit.Child(0x5F2E)
	if err != nil || !ok {
		return nil, fmt.Errorf("DG2: %w", orMissing(err, "5F2E"))
	}
	f, err := parseFacialRecord(bdb.Value)
	if err != nil {
		return nil, fmt.Errorf("DG2: %w", err)
	}
	return f, nil
}

func orMissing(err error, what string) error {
	if err != nil {
		return err
	}
	return tlvErr("no element %s", what)
}

func parseFacialRecord(r []byte) (*FaceImage, error) {
	if len(r) < faceGeneralHeader+faceInfoBlock+faceImageInfo || string(r[:4]) != "FAC\x00" {
		return nil, fmt.Errorf("not an ISO/IEC 19794-5 facial record")
	}
	if n := binary.BigEndian.Uint16(r[12:14]); n == 0 {
		return nil, fmt.Errorf("facial record holds no face")
	}
	face := r[faceGeneralHeader:]
	blockLen := int(binary.BigEndian.Uint32(face[0:4]))
	points := int(binary.BigEndian.Uint16(face[4:6]))
	head := faceInfoBlock + points*faceFeaturePoint + faceImageInfo
	if blockLen > len(face) || blockLen < head {
		return nil, fmt.Errorf("facial record block length %d does not fit the %d bytes present", blockLen, len(face))
	}
	info := face[faceInfoBlock+points*faceFeaturePoint:]
	f := &FaceImage{
		Width:  int(binary.BigEndian.Uint16(info[2:4])),
		Height: int(binary.BigEndian.Uint16(info[4:6])),
		Image:  face[head:blockLen],
	}
	switch info[1] {
	case 0:
		f.Format = JPEG
	case 1:
		f.Format = JPEG2000
	default:
		return nil, fmt.Errorf("image data type %d is neither JPEG nor JPEG 2000", info[1])
	}
	if sniffImage(f.Image) != f.Format {
		return nil, fmt.Errorf("image bytes are not %s as the record says", f.Format)
	}
	return f, nil
}

// sniffImage recognises JPEG and JPEG 2000 (file format and codestream) by
// their first bytes.
func sniffImage(b []byte) ImageFormat {
	switch {
	case len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF:
		return JPEG
	case len(b) >= 12 && string(b[:12]) == "\x00\x00\x00\x0CjP  \r\n\x87\n":
		return JPEG2000
	case len(b) >= 4 && string(b[:4]) == "\xFF\x4F\xFF\x51":
		return JPEG2000
	}
	return ""
}

// EncodeDG2 writes DG2 with one face image in an ISO/IEC 19794-5 record
// (a basic full-frontal image without feature points).
func EncodeDG2(f *FaceImage) []byte {
	imgType := byte(0)
	if f.Format == JPEG2000 {
		imgType = 1
	}
	blockLen := faceInfoBlock + faceImageInfo + len(f.Image)
	rec := make([]byte, 0, faceGeneralHeader+blockLen)
	rec = append(rec, "FAC\x00010\x00"...)
	rec = binary.BigEndian.AppendUint32(rec, uint32(faceGeneralHeader+blockLen))
	rec = binary.BigEndian.AppendUint16(rec, 1)
	rec = binary.BigEndian.AppendUint32(rec, uint32(blockLen))
	rec = append(rec, 0, 0, // feature points
		0, 0, 0, // gender, eye colour, hair colour: unspecified
		0, 0, 0, // feature mask
		0, 0, // expression
		0, 0, 0, 0, 0, 0) // pose angle and uncertainty
	rec = append(rec, 1, imgType) // face image type: full frontal
	rec = binary.BigEndian.AppendUint16(rec, uint16(f.Width))
	rec = binary.BigEndian.AppendUint16(rec, uint16(f.Height))
	rec = append(rec, 1, 2, 0, 0, 0, 0) // sRGB, digital camera, device, quality
	rec = append(rec, f.Image...)

	header := appendTLV(nil, 0x80, []byte{0x01, 0x01})   // ICAO header version 1.1
	header = appendTLV(header, 0x81, []byte{0x02})       // biometric type: face
	header = appendTLV(header, 0x87, []byte{0x01, 0x01}) // format owner: ISO/IEC JTC1 SC37
	header = appendTLV(header, 0x88, []byte{0x00, 0x08}) // format type: face image
	bit := appendTLV(nil, 0xA1, header)                  // biometric header template
	bit = appendTLV(bit, 0x5F2E, rec)                    // biometric data block
	group := appendTLV(nil, 0x02, []byte{1})             // one instance
	group = appendTLV(group, 0x7F60, bit)                // biometric information template
	return appendTLV(nil, dgTags[2], appendTLV(nil, 0x7F61, group))
}

// appendTLV appends one element with a minimal definite length.
func appendTLV(dst []byte, tag Tag, value []byte) []byte {
	switch {
	case tag > 0xFFFF:
		dst = append(dst, byte(tag>>16), byte(tag>>8), byte(tag))
	case tag > 0xFF:
		dst = append(dst, byte(tag>>8), byte(tag))
	default:
		dst = append(dst, byte(tag))
	}
	n := len(value)
	switch {
	case n < 0x80:
		dst = append(dst, byte(n))
	case n <= 0xFF:
		dst = append(dst, 0x81, byte(n))
	case n <= 0xFFFF:
		dst = append(dst, 0x82, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, value...)
}

// dgList returns the numbers in m, sorted.
func dgList(m map[int][]byte) []int {
	out := make([]int, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
