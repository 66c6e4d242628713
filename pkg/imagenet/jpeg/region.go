package jpeg

import "image"

// DecodeRegion is Decode for a caller that reads only the pixels inside r
// (a resize that computes a crop, say): those pixels are exactly Decode's,
// and the others are zero (but see pix below). The entropy-coded data is decoded in full (it
// is sequential), but the inverse DCT, upsampling and colour conversion
// are skipped for blocks and rows that no pixel of r depends on.
//
// Files for which the region would not save work or could differ are
// decoded in full: an EXIF orientation other than 1 (r is in the
// oriented image's coordinates), and damaged files (Warnings not empty:
// the rows of a cut-short file repeat the last row delivered, which may
// lie outside r). An empty r, or one covering the image, decodes in full.
//
// When pix has the capacity, the image is written into it (reusing a
// buffer saves clearing and faulting in a new one per image); the pixels
// outside r are then whatever pix held.
func DecodeRegion(data []byte, r image.Rectangle, pix []byte) (*Image, error) {
	d := &decoder{data: data, region: r, pix: pix}
	img, err := d.decode()
	if err == nil && d.regionUsed && len(img.Warnings) > 0 {
		return Decode(data)
	}
	return img, err
}

// blockSpan is a component's range of blocks [bx0, bx1) x [by0, by1)
// that the pixels of a region depend on.
type blockSpan struct{ bx0, bx1, by0, by1 int }

func (s blockSpan) has(bx, by int) bool {
	return bx >= s.bx0 && bx < s.bx1 && by >= s.by0 && by < s.by1
}

// setupRegion decides whether the region is used (after the headers are
// read) and computes each component's block span. A pixel at x of the
// full-resolution image reads its component's samples at x*h/maxH, and
// libjpeg's fancy upsamplers also the samples next to it in each
// direction; one sample of margin on each side therefore covers every
// upsampler (box and integral ones read only the sample itself).
func (d *decoder) setupRegion() {
	r := d.region.Intersect(image.Rect(0, 0, d.width, d.height))
	if r.Empty() || r == image.Rect(0, 0, d.width, d.height) {
		return
	}
	if o := exifOrientation(d.exif); o >= 2 && o <= 8 {
		return
	}
	d.region, d.regionUsed = r, true
	for i := range d.comps {
		c := &d.comps[i]
		sx0 := r.Min.X*c.h/d.maxH - 1
		sx1 := (r.Max.X-1)*c.h/d.maxH + 2
		sy0 := r.Min.Y*c.v/d.maxV - 1
		sy1 := (r.Max.Y-1)*c.v/d.maxV + 2
		c.span = blockSpan{
			bx0: max(0, sx0) / 8, bx1: min(c.pbw, ceilDiv(sx1, 8)),
			by0: max(0, sy0) / 8, by1: min(c.pbh, ceilDiv(sy1, 8)),
		}
	}
}

// needBlock reports whether block (bx, by) of c must be transformed.
func (d *decoder) needBlock(c *component, bx, by int) bool {
	return !d.regionUsed || c.span.has(bx, by)
}

// renderSpan is the output rows [y0, y1) and columns [x0, x1) render
// produces: the region's, or the whole image.
func (d *decoder) renderSpan() (x0, x1, y0, y1 int) {
	if !d.regionUsed {
		return 0, d.width, 0, d.height
	}
	return d.region.Min.X, d.region.Max.X, d.region.Min.Y, d.region.Max.Y
}

// outputBuffer returns the n bytes of the image: DecodeRegion's pix when
// it is large enough, else new zeroed memory. A reused buffer is cleared
// unless the region limits the work (rows that are not rendered, such as
// those of a file that delivered none, must stay black as in Decode).
func (d *decoder) outputBuffer(n int) []byte {
	if cap(d.pix) < n {
		return make([]byte, n)
	}
	b := d.pix[:n]
	if !d.regionUsed {
		clear(b)
	}
	return b
}
