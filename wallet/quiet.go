package wallet

import (
	"image"
	"image/color"
	"image/draw"
)

// quiet surrounds img with a white border of m pixels.
func quiet(img image.Image, m int) image.Image {
	b := img.Bounds()
	out := image.NewGray(image.Rect(0, 0, b.Dx()+2*m, b.Dy()+2*m))
	draw.Draw(out, out.Bounds(), &image.Uniform{C: color.White}, image.Point{}, draw.Src)
	draw.Draw(out, image.Rect(m, m, m+b.Dx(), m+b.Dy()), img, b.Min, draw.Src)
	return out
}
