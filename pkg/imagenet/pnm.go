package imagenet

import (
	"fmt"
)

func isPNMSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// pnmReader tokenizes a Netpbm header or ASCII raster, skipping '#' comments.
type pnmReader struct {
	data []byte
	pos  int
}

func (r *pnmReader) skipSpace() {
	for r.pos < len(r.data) {
		c := r.data[r.pos]
		if c == '#' {
			for r.pos < len(r.data) && r.data[r.pos] != '\n' && r.data[r.pos] != '\r' {
				r.pos++
			}
			continue
		}
		if !isPNMSpace(c) {
			return
		}
		r.pos++
	}
}

// uint reads a decimal number. P1 rasters may pack digits without spaces,
// so maxDigits=1 reads one digit.
func (r *pnmReader) uint(what string, maxDigits int) (int, error) {
	r.skipSpace()
	start := r.pos
	v := 0
	for r.pos < len(r.data) && r.data[r.pos] >= '0' && r.data[r.pos] <= '9' && r.pos-start < maxDigits {
		v = v*10 + int(r.data[r.pos]-'0')
		r.pos++
	}
	if r.pos == start {
		if r.pos >= len(r.data) {
			return 0, FormatError("pnm: unexpected end of data reading " + what)
		}
		return 0, FormatError(fmt.Sprintf("pnm: bad character %q reading %s", r.data[r.pos], what))
	}
	return v, nil
}

// decodePNM reads Netpbm P1–P6 files the way OpenCV's PxM decoder does for
// IMREAD_COLOR: 8-bit samples are mapped with the table i*255/maxval
// (integer division), bitmaps map 0 to white and 1 to black, gray is
// replicated. Samples above maxval are clamped to maxval. Samples wider
// than 8 bits (maxval > 255) are rescaled to 16 bits and reduced with >>8.
func decodePNM(data []byte) (*Image, error) {
	r := &pnmReader{data: data, pos: 2}
	kind := data[1]
	w, err := r.uint("width", 10)
	if err != nil {
		return nil, err
	}
	h, err := r.uint("height", 10)
	if err != nil {
		return nil, err
	}
	if err := checkSize(w, h); err != nil {
		return nil, err
	}
	maxval := 1
	if kind != '1' && kind != '4' {
		if maxval, err = r.uint("maxval", 6); err != nil {
			return nil, err
		}
		if maxval < 1 || maxval > 65535 {
			return nil, FormatError(fmt.Sprintf("pnm: maxval %d", maxval))
		}
	}
	binary := kind >= '4'
	if binary {
		// exactly one whitespace byte separates the header from the raster
		if r.pos >= len(data) || !isPNMSpace(data[r.pos]) {
			return nil, FormatError("pnm: missing whitespace after header")
		}
		r.pos++
	}
	channels := 1
	if kind == '3' || kind == '6' {
		channels = 3
	}
	// lut maps a sample to 8 bits.
	conv := func(v int) byte {
		if v > maxval {
			v = maxval
		}
		if maxval <= 255 {
			return byte(v * 255 / maxval)
		}
		return byte((v * 65535 / maxval) >> 8)
	}
	n := w * h * channels
	// Reject short rasters before allocating: every binary sample takes
	// 1 or 2 bytes, a P4 row (w+7)/8 bytes, an ASCII sample at least one
	// digit (plus a separator, except in P1).
	remain := len(data) - r.pos
	switch {
	case kind == '4' && remain < (w+7)/8*h,
		binary && kind != '4' && maxval <= 255 && remain < n,
		binary && kind != '4' && maxval > 255 && remain < 2*n,
		kind == '1' && remain < n,
		!binary && kind != '1' && remain < 2*n-1:
		return nil, FormatError("pnm: raster too short")
	}
	m := NewImage(w, h)
	p := m.Pix
	switch {
	case kind == '4':
		rowBytes := (w + 7) / 8
		if len(data)-r.pos < rowBytes*h {
			return nil, FormatError("pnm: raster too short")
		}
		for y := 0; y < h; y++ {
			row := data[r.pos+y*rowBytes:]
			for x := 0; x < w; x++ {
				bit := row[x/8] >> (7 - uint(x%8)) & 1
				v := byte(255)
				if bit == 1 {
					v = 0
				}
				i := 3 * (y*w + x)
				p[i], p[i+1], p[i+2] = v, v, v
			}
		}
		return m, nil
	case binary:
		size := 1
		if maxval > 255 {
			size = 2
		}
		if len(data)-r.pos < n*size {
			return nil, FormatError("pnm: raster too short")
		}
		raster := data[r.pos:]
		for i := 0; i < n; i++ {
			v := int(raster[i*size])
			if size == 2 {
				v = v<<8 | int(raster[2*i+1])
			}
			setSample(p, i, channels, conv(v))
		}
		return m, nil
	default: // ASCII P1, P2, P3
		digits := 6
		if kind == '1' {
			digits = 1
		}
		for i := 0; i < n; i++ {
			v, err := r.uint("sample", digits)
			if err != nil {
				return nil, err
			}
			var b byte
			if kind == '1' {
				b = 255
				if v != 0 {
					b = 0
				}
			} else {
				b = conv(v)
			}
			setSample(p, i, channels, b)
		}
		return m, nil
	}
}

// setSample stores sample i of a gray (channels 1) or RGB (channels 3)
// raster into BGR pixels.
func setSample(p []byte, i, channels int, v byte) {
	if channels == 1 {
		p[3*i], p[3*i+1], p[3*i+2] = v, v, v
		return
	}
	px, c := i/3, i%3
	p[3*px+2-c] = v
}
