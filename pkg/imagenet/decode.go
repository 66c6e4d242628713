package imagenet

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"os"
	"strings"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"

	"github.com/mobileone-go/mobileone/internal/memlimit"
	"github.com/mobileone-go/mobileone/internal/readfile"
	"github.com/mobileone-go/mobileone/pkg/imagenet/jpeg"
)

// MaxPixels bounds Width*Height of any decoded image; larger headers are
// rejected with UnsupportedError before pixel memory is allocated.
const MaxPixels = 1 << 28

// decodeJPEG decodes a JPEG file into BGR pixels; every JPEG goes through
// this variable (tests replace it). It is pkg/imagenet/jpeg: libjpeg-turbo's
// decoding as OpenCV 4.6 runs it (ISLOW IDCT, fancy upsampling, libjpeg's
// YCbCr tables, EXIF orientation applied), byte for byte.
// A non-empty region r asks only for the pixels inside it
// (jpeg.DecodeRegion, for Pipeline.Decode): the others are then left
// undefined, and the image's buffer comes from (and Pipeline.Apply
// returns it to) a pool.
var decodeJPEG = func(data []byte, r image.Rectangle) (*Image, error) {
	var m *jpeg.Image
	var err error
	var buf *[]byte
	if r.Empty() {
		m, err = jpeg.Decode(data)
	} else {
		buf = pixPool.Get(0) // jpeg.DecodeRegion uses it if its capacity suffices
		if m, err = jpeg.DecodeRegion(data, r, *buf); err != nil {
			pixPool.Put(buf)
		}
	}
	if err != nil {
		var fe jpeg.FormatError
		var ue jpeg.UnsupportedError
		switch {
		case errors.As(err, &ue):
			return nil, UnsupportedError("jpeg: " + string(ue))
		case errors.As(err, &fe):
			return nil, FormatError("jpeg: " + string(fe))
		}
		return nil, FormatError("jpeg: " + err.Error())
	}
	img := &Image{Width: m.Width, Height: m.Height, Pix: m.Pix, Warnings: m.Warnings}
	if buf != nil {
		*buf = m.Pix // the pool's handle on whichever buffer the decoder used
		img.pool = buf
		if !image.Rect(0, 0, m.Width, m.Height).In(r) {
			img.region = r
		}
	}
	return img, nil
}

// MaxFileBytes bounds the size of an image file ReadFile reads (1 GiB: an
// uncompressed 2^28-pixel BMP is 768 MiB).
const MaxFileBytes = 1 << 30

// DecodeFile reads (ReadFile) and decodes an image file. Errors name the
// file.
func DecodeFile(path string) (*Image, error) {
	return decodeFile(path, Decode)
}

func decodeFile(path string, decode func([]byte) (*Image, error)) (*Image, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// sniffBytes is how much of a file Format needs to recognise it.
const sniffBytes = 16

// ReadFile reads an image file with bounded memory and time: a folder, a
// file larger than MaxFileBytes, and a file whose first bytes are not of a
// known image format are refused after reading at most those first bytes,
// and a stream without a size (a device such as /dev/zero, a FIFO) is
// read up to MaxFileBytes and refused beyond. Errors name the file.
func ReadFile(path string) ([]byte, error) {
	data, err := readfile.Read(path, MaxFileBytes, sniffBytes, func(head []byte) error {
		if Format(head) == "" {
			_, err := Decode(head) // the error for empty or unknown data
			return err
		}
		return nil
	})
	if err == nil {
		return data, nil
	}
	var (
		pe *os.PathError
		tl *readfile.TooLargeError
		fe FormatError
	)
	switch {
	case !errors.As(err, &pe) || pe.Op != "read":
		return nil, fmt.Errorf("imagenet: %w", err) // *PathError names the file
	case errors.Is(err, readfile.ErrIsDir):
		return nil, fmt.Errorf("%s: %w", path, FormatError("is a directory, not an image file"))
	case errors.As(err, &tl) && tl.Size >= 0:
		return nil, fmt.Errorf("%s: %w", path, UnsupportedError(fmt.Sprintf("file of %d bytes is larger than the %d bytes an image file may have", tl.Size, MaxFileBytes)))
	case errors.As(err, &tl):
		return nil, fmt.Errorf("%s: %w", path, UnsupportedError(fmt.Sprintf("stream is longer than the %d bytes an image file may have", MaxFileBytes)))
	case errors.As(err, &fe):
		return nil, fmt.Errorf("%s: %w", path, fe)
	}
	return nil, fmt.Errorf("imagenet: %s: %w", path, pe.Err)
}

// Format names the container format found by sniffing data's first bytes:
// "jpeg", "png", "bmp", "tiff", "gif", "webp", "pnm", or "" when unknown.
func Format(data []byte) string {
	switch {
	case len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF:
		return "jpeg"
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(data, []byte("BM")):
		return "bmp"
	case bytes.HasPrefix(data, []byte("II*\x00")), bytes.HasPrefix(data, []byte("MM\x00*")):
		return "tiff"
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return "gif"
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return "webp"
	case len(data) >= 3 && data[0] == 'P' && data[1] >= '1' && data[1] <= '6' && isPNMSpace(data[2]):
		return "pnm"
	}
	return ""
}

// Decode decodes an image held in memory into OpenCV's IMREAD_COLOR layout
// (uint8 BGR HWC). The format is sniffed from the content, as OpenCV does:
// JPEG (through decodeJPEG), PNG, BMP, TIFF, GIF (first frame), WebP and
// PNM (P1–P6). Grayscale is replicated to 3 channels, alpha is dropped
// without compositing, 16-bit samples become value>>8 and palettes are
// expanded.
func Decode(data []byte) (*Image, error) {
	return decodeRegion(data, nil)
}

// decodeRegion is Decode; with region (Pipeline.sourceRect, for
// Pipeline.Decode), a JPEG is decoded only in the part of the image that
// region gives for its size, if any: its other pixels are then undefined.
func decodeRegion(data []byte, region func(w, h int) (image.Rectangle, bool)) (m *Image, err error) {
	format := Format(data)
	if format == "" {
		if len(data) == 0 {
			return nil, FormatError("empty image data")
		}
		return nil, FormatError("not an image in a known format (JPEG, PNG, BMP, TIFF, GIF, WebP, PPM/PGM)")
	}
	// Third-party decoders must not take the process down on bad input.
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, FormatError(fmt.Sprintf("%s: decoder panic: %v", format, r))
		}
	}()
	// The pixel memory is checked against the process's budget from the
	// headers, before any of it is allocated.
	_, w, h, cerr := DecodeConfig(data)
	sized := cerr == nil && checkSize(w, h) == nil
	if sized {
		what := func() string { return fmt.Sprintf("decoding a %dx%d %s image", w, h, format) }
		if err := memlimit.Check(what, decodeBytes(w, h)); err != nil {
			return nil, err
		}
	}
	switch format {
	case "jpeg":
		var r image.Rectangle
		if region != nil && sized {
			r, _ = region(w, h)
		}
		return decodeJPEG(data, r)
	case "pnm":
		return decodePNM(data)
	}
	// The standard decoders: their headers were read by DecodeConfig.
	if cerr != nil {
		return nil, cerr
	}
	if err := checkSize(w, h); err != nil {
		return nil, err
	}
	var im image.Image
	switch format {
	case "png":
		im, err = png.Decode(bytes.NewReader(data))
	case "bmp":
		im, err = bmp.Decode(bytes.NewReader(data))
	case "tiff":
		im, err = tiff.Decode(bytes.NewReader(data))
	case "gif":
		im, err = gif.Decode(bytes.NewReader(data))
	case "webp":
		im, err = webp.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return nil, wrapDecodeError(format, err)
	}
	return FromImage(im), nil
}

// decodeBytes estimates the peak memory of decoding a w×h image: the
// decoder's own picture (up to 8 bytes a pixel: 16-bit RGBA) and the BGR
// result (3 bytes a pixel).
func decodeBytes(w, h int) int64 { return 11 * int64(w) * int64(h) }

func checkSize(w, h int) error {
	if w <= 0 || h <= 0 {
		return FormatError(fmt.Sprintf("image size %dx%d", w, h))
	}
	if int64(w)*int64(h) > MaxPixels {
		return UnsupportedError(fmt.Sprintf("image size %dx%d exceeds %d pixels", w, h, MaxPixels))
	}
	return nil
}

// wrapDecodeError maps a standard decoder's error onto FormatError or
// UnsupportedError, keeping its text.
func wrapDecodeError(format string, err error) error {
	var (
		pu png.UnsupportedError
		tu tiff.UnsupportedError
		fe FormatError
		ue UnsupportedError
	)
	switch {
	case errors.As(err, &fe), errors.As(err, &ue):
		return err
	case errors.As(err, &pu), errors.As(err, &tu), errors.Is(err, bmp.ErrUnsupported):
		return UnsupportedError(format + ": " + ownText(format, err))
	}
	return FormatError(format + ": " + ownText(format, err))
}

// ownText is a standard decoder's message without the prefixes our error
// adds again ("png: invalid format: x" -> "x"), so that a message reads
// "imagenet: invalid format: png: x", not "... png: png: invalid format: x".
func ownText(format string, err error) string {
	msg := strings.TrimPrefix(err.Error(), format+": ")
	for _, p := range []string{"invalid format: ", "unsupported feature: ", "unsupported: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}

// FromImage converts any image.Image to BGR the way OpenCV's IMREAD_COLOR
// would see the same stored samples: gray replicated, alpha dropped (stored
// colour values kept, no compositing), 16-bit samples >>8.
func FromImage(src image.Image) *Image {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	dst := NewImage(w, h)
	p := dst.Pix
	switch s := src.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := s.Pix[y*s.Stride : y*s.Stride+w]
			o := p[3*w*y:]
			for x, v := range row {
				o[3*x], o[3*x+1], o[3*x+2] = v, v, v
			}
		}
	case *image.Gray16:
		for y := 0; y < h; y++ {
			row := s.Pix[y*s.Stride : y*s.Stride+2*w]
			o := p[3*w*y:]
			for x := 0; x < w; x++ {
				v := row[2*x] // big-endian high byte == value>>8
				o[3*x], o[3*x+1], o[3*x+2] = v, v, v
			}
		}
	case *image.RGBA:
		copyRGBA(p, s.Pix, s.Stride, w, h, 4, 1)
	case *image.NRGBA:
		copyRGBA(p, s.Pix, s.Stride, w, h, 4, 1)
	case *image.RGBA64:
		copyRGBA(p, s.Pix, s.Stride, w, h, 8, 2)
	case *image.NRGBA64:
		copyRGBA(p, s.Pix, s.Stride, w, h, 8, 2)
	case *image.YCbCr:
		for y := 0; y < h; y++ {
			o := p[3*w*y:]
			for x := 0; x < w; x++ {
				yi, ci := s.YOffset(b.Min.X+x, b.Min.Y+y), s.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bb := color.YCbCrToRGB(s.Y[yi], s.Cb[ci], s.Cr[ci])
				o[3*x], o[3*x+1], o[3*x+2] = bb, g, r
			}
		}
	case *image.CMYK:
		for y := 0; y < h; y++ {
			row := s.Pix[y*s.Stride : y*s.Stride+4*w]
			o := p[3*w*y:]
			for x := 0; x < w; x++ {
				r, g, bb := color.CMYKToRGB(row[4*x], row[4*x+1], row[4*x+2], row[4*x+3])
				o[3*x], o[3*x+1], o[3*x+2] = bb, g, r
			}
		}
	case *image.Paletted:
		var lut [256][3]byte
		for i, c := range s.Palette {
			if i >= 256 {
				break
			}
			lut[i] = storedRGB(c)
		}
		for y := 0; y < h; y++ {
			row := s.Pix[y*s.Stride : y*s.Stride+w]
			o := p[3*w*y:]
			for x, v := range row {
				c := lut[v]
				o[3*x], o[3*x+1], o[3*x+2] = c[2], c[1], c[0]
			}
		}
	default:
		for y := 0; y < h; y++ {
			o := p[3*w*y:]
			for x := 0; x < w; x++ {
				c := storedRGB(src.At(b.Min.X+x, b.Min.Y+y))
				o[3*x], o[3*x+1], o[3*x+2] = c[2], c[1], c[0]
			}
		}
	}
	return dst
}

// copyRGBA copies interleaved RGBA samples of size bytes (1 or 2, big-endian:
// the first byte is the high byte) into BGR.
func copyRGBA(dst, src []byte, stride, w, h, pixBytes, size int) {
	for y := 0; y < h; y++ {
		row := src[y*stride : y*stride+pixBytes*w]
		o := dst[3*w*y:]
		for x := 0; x < w; x++ {
			q := row[pixBytes*x:]
			o[3*x], o[3*x+1], o[3*x+2] = q[2*size], q[size], q[0]
		}
	}
}

// storedRGB returns the 8-bit R, G, B a file stores for c, undoing no
// premultiplication (OpenCV never composites alpha).
func storedRGB(c color.Color) [3]byte {
	switch c := c.(type) {
	case color.RGBA:
		return [3]byte{c.R, c.G, c.B}
	case color.NRGBA:
		return [3]byte{c.R, c.G, c.B}
	case color.Gray:
		return [3]byte{c.Y, c.Y, c.Y}
	case color.YCbCr:
		r, g, b := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
		return [3]byte{r, g, b}
	}
	n := color.NRGBA64Model.Convert(c).(color.NRGBA64)
	return [3]byte{byte(n.R >> 8), byte(n.G >> 8), byte(n.B >> 8)}
}
