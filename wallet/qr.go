package wallet

import (
	"bytes"
	"fmt"
	"image/png"
	"strings"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"

	"github.com/cancuoc/cancuoc"
)

// MaxQR is the most a presentation may hold to fit one QR code at error
// correction level L (version 40, binary mode: 2953 bytes).
const MaxQR = 2953

func encodeQR(op, content string) (barcode.Barcode, error) {
	if content == "" {
		return nil, cancuoc.InvalidField(op, "presentation", "presentation_required", "Thiếu bản trình bày.", "The presentation is required.")
	}
	if len(content) > MaxQR {
		return nil, cancuoc.InvalidField(op, "presentation", "qr_too_large",
			"Bản trình bày quá lớn cho một mã QR: hãy chọn ít trường hơn hoặc dùng trình bày trực tuyến.",
			fmt.Sprintf("The presentation (%d bytes) is too large for one QR code (%d): disclose fewer claims or present online.", len(content), MaxQR))
	}
	// Level L: a screen shown to a scanner is not damaged, and the lowest
	// level keeps the code small enough to scan.
	bc, err := qr.Encode(content, qr.L, qr.Auto)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return bc, nil
}

// QRPNG renders content as a QR code PNG, scale pixels per module, with
// the quiet zone of 4 modules the standard asks for.
func QRPNG(content string, scale int) ([]byte, error) {
	const op = "wallet.QRPNG"
	bc, err := encodeQR(op, content)
	if err != nil {
		return nil, err
	}
	if scale < 1 || scale > 16 {
		scale = 4
	}
	n := bc.Bounds().Dx()
	img, err := barcode.Scale(bc, n*scale, n*scale)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	framed := quiet(img, 4*scale)
	var buf bytes.Buffer
	if err := png.Encode(&buf, framed); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return buf.Bytes(), nil
}

// QRSVG renders content as a QR code in SVG, one path of unit squares.
func QRSVG(content string) ([]byte, error) {
	bc, err := encodeQR("wallet.QRSVG", content)
	if err != nil {
		return nil, err
	}
	n := bc.Bounds().Dx()
	const margin = 4
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges">`, n+2*margin, n+2*margin)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#fff"/><path fill="#000" d="`)
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			if r, _, _, _ := bc.At(x, y).RGBA(); r == 0 {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x+margin, y+margin)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return []byte(b.String()), nil
}
