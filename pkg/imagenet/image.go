package imagenet

import (
	"fmt"
	"image"

	"github.com/mobileone-go/mobileone/internal/bufpool"
)

// Image is an 8-bit BGR image in OpenCV's HWC layout: what
// cv2.imdecode(buf, IMREAD_COLOR) returns. Pix holds Height rows of Width
// pixels, each pixel 3 bytes B, G, R, with no padding between rows.
type Image struct {
	Width, Height int
	Pix           []byte
	// Warnings are the decoder's warnings about a damaged file that still
	// decoded (libjpeg's texts, e.g. "Premature end of JPEG file"), as
	// OpenCV prints them.
	Warnings []string
	// region, when not empty, is the part of the image that was decoded
	// (Pipeline.Decode): the pixels outside it are not the file's.
	region image.Rectangle
	// pool, for a Pipeline.Decode image, is pixPool's handle on Pix, which
	// Pipeline.Apply returns once the fused step has read it.
	pool *[]byte
}

// pixPool holds the buffers of images decoded for a pipeline (their
// pixels are read once, by its first resize): reusing them saves clearing
// and faulting in ~1 MB per photo.
var pixPool bufpool.Pool[byte]

// recycle gives a Pipeline.Decode image's buffer back to the pool; the
// image is empty afterwards, so a later use fails loudly.
func (m *Image) recycle() {
	if m.pool != nil {
		pixPool.Put(m.pool)
		m.Pix, m.Width, m.Height, m.pool = nil, 0, 0, nil
	}
}

// NewImage returns a zeroed w×h image.
func NewImage(w, h int) *Image {
	if w < 0 || h < 0 {
		panic("imagenet: negative image size")
	}
	return &Image{Width: w, Height: h, Pix: make([]byte, 3*w*h)}
}

// reuseImage returns dst resized to w×h, reusing its buffer when it is large
// enough, or a new image when dst is nil.
func reuseImage(dst *Image, w, h int) *Image {
	if dst == nil {
		return NewImage(w, h)
	}
	n := 3 * w * h
	if cap(dst.Pix) < n {
		dst.Pix = make([]byte, n)
	}
	dst.Pix = dst.Pix[:n]
	dst.Width, dst.Height = w, h
	return dst
}

// Stride is the number of bytes per row (3*Width).
func (m *Image) Stride() int { return 3 * m.Width }

// Bounds returns the image rectangle with its origin at (0, 0).
func (m *Image) Bounds() image.Rectangle { return image.Rect(0, 0, m.Width, m.Height) }

// check panics when the buffer does not match the declared size (a
// programmer error, like gonum's "bad leading dimension").
func (m *Image) check(what string) {
	if m == nil {
		panic("imagenet: nil " + what + " image")
	}
	if m.Width < 0 || m.Height < 0 || len(m.Pix) < 3*m.Width*m.Height {
		panic(fmt.Sprintf("imagenet: %s image %dx%d has %d bytes, need %d", what, m.Width, m.Height, len(m.Pix), 3*m.Width*m.Height))
	}
}

// Clone returns a deep copy.
func (m *Image) Clone() *Image {
	c := &Image{Width: m.Width, Height: m.Height, Pix: make([]byte, 3*m.Width*m.Height), region: m.region}
	copy(c.Pix, m.Pix)
	return c
}

// CropInto copies the pixels of r (which must lie inside m) into dst, which
// is resized to r's size, and returns dst (a new image when dst is nil).
func (m *Image) CropInto(dst *Image, r image.Rectangle) *Image {
	m.check("source")
	if !r.In(m.Bounds()) && !r.Empty() {
		panic(fmt.Sprintf("imagenet: crop %v outside image %v", r, m.Bounds()))
	}
	dst = reuseImage(dst, r.Dx(), r.Dy())
	rowBytes := 3 * r.Dx()
	for y := 0; y < r.Dy(); y++ {
		s := (r.Min.Y+y)*m.Stride() + 3*r.Min.X
		copy(dst.Pix[y*rowBytes:(y+1)*rowBytes], m.Pix[s:s+rowBytes])
	}
	return dst
}

// Crop returns a new image holding the pixels of r.
func (m *Image) Crop(r image.Rectangle) *Image { return m.CropInto(nil, r) }

// FlipHorizontal mirrors the image left-right in place (np.flip(img, axis=1)).
func (m *Image) FlipHorizontal() {
	m.check("source")
	s := m.Stride()
	for y := 0; y < m.Height; y++ {
		row := m.Pix[y*s : (y+1)*s]
		for i, j := 0, 3*(m.Width-1); i < j; i, j = i+3, j-3 {
			row[i], row[j] = row[j], row[i]
			row[i+1], row[j+1] = row[j+1], row[i+1]
			row[i+2], row[j+2] = row[j+2], row[i+2]
		}
	}
}

// FlipVertical mirrors the image top-bottom in place (np.flip(img, axis=0)).
func (m *Image) FlipVertical() {
	m.check("source")
	s := m.Stride()
	tmp := make([]byte, s)
	for i, j := 0, m.Height-1; i < j; i, j = i+1, j-1 {
		a, b := m.Pix[i*s:(i+1)*s], m.Pix[j*s:(j+1)*s]
		copy(tmp, a)
		copy(a, b)
		copy(b, tmp)
	}
}
