package jpeg

import "github.com/mobileone-go/mobileone/internal/bufpool"

// Image is a decoded picture in OpenCV's layout: Height rows of Width
// pixels, 3 bytes per pixel in B, G, R order.
type Image struct {
	Width, Height int
	Pix           []byte
	// Warnings are the warnings libjpeg emits for this file (its message
	// texts, e.g. "Premature end of JPEG file"): the image was decoded,
	// as OpenCV decodes it, but the file is damaged.
	Warnings []string
}

// libjpeg's warning texts (jerror.h).
const (
	warnEOF       = "Premature end of JPEG file"                       // JWRN_JPEG_EOF
	warnHitMarker = "Corrupt JPEG data: premature end of data segment" // JWRN_HIT_MARKER
)

// Decode returns exactly what cv2.imdecode(data, IMREAD_COLOR) returns
// (OpenCV 4.6 on libjpeg-turbo 2.1), with the EXIF orientation applied.
//
// Damaged files: corrupt entropy-coded data is decoded with libjpeg's
// recovery rules. A single-scan file whose data ends early gives a
// full-size image: rows libjpeg could not deliver repeat the last row it
// delivered (as OpenCV's row loop does), or are black if it delivered none.
// A multi-scan (progressive) file that ends early, and anything libjpeg
// treats as a fatal error, give a FormatError or UnsupportedError.
func Decode(data []byte) (*Image, error) {
	d := &decoder{data: data}
	return d.decode()
}

// DecodeConfig returns the width and height Decode would return (after the
// EXIF orientation), reading only the headers up to the first scan.
func DecodeConfig(data []byte) (width, height int, err error) {
	d := &decoder{data: data}
	if err := d.readHeader(); err != nil {
		return 0, 0, err
	}
	w, h := d.width, d.height
	if o := exifOrientation(d.exif); o >= 5 && o <= 8 {
		w, h = h, w
	}
	return w, h, nil
}

type colorSpace int

const (
	csGray colorSpace = iota
	csYCbCr
	csRGB
	csCMYK
	csYCCK
)

// readHeader reads markers up to and including the first SOS header and
// sets up the frame, like jpeg_read_header plus the checks
// jpeg_start_decompress makes before decoding.
func (d *decoder) readHeader() error {
	// OpenCV recognises a JPEG by its first three bytes.
	if len(d.data) < 3 || d.data[0] != 0xFF || d.data[1] != mSOI || d.data[2] != 0xFF {
		return FormatError("missing JPEG signature FF D8 FF")
	}
	r, err := d.readMarkers()
	if err != nil {
		return err
	}
	if r == reachedEOI {
		return FormatError("no image before EOI")
	}
	return d.setupFrame()
}

func (d *decoder) setupFrame() error {
	nc := len(d.comps)
	if nc > maxComponents {
		return UnsupportedError("more than 10 components")
	}
	if d.width > maxDimension || d.height > maxDimension {
		return UnsupportedError("image dimension above 65500")
	}
	if d.width*d.height > maxPixels {
		return UnsupportedError("image too large (more than 2^28 pixels)")
	}
	d.maxH, d.maxV = 1, 1
	for i := range d.comps {
		c := &d.comps[i]
		if c.h < 1 || c.h > maxSampleFactor || c.v < 1 || c.v > maxSampleFactor {
			return FormatError("bad sampling factors")
		}
		d.maxH = max(d.maxH, c.h)
		d.maxV = max(d.maxV, c.v)
	}
	d.mcusX = ceilDiv(d.width, d.maxH*8)
	d.mcusY = ceilDiv(d.height, d.maxV*8)
	for i := range d.comps {
		c := &d.comps[i]
		c.dw = ceilDiv(d.width*c.h, d.maxH)
		c.dh = ceilDiv(d.height*c.v, d.maxV)
		c.bw = ceilDiv(d.width*c.h, d.maxH*8)
		c.bh = ceilDiv(d.height*c.v, d.maxV*8)
		c.pbw = d.mcusX * c.h
		c.pbh = d.mcusY * c.v
		for k := range c.coefBt {
			c.coefBt[k] = -1
		}
	}
	d.multiScan = d.progressive || len(d.scan.comps) < nc
	return nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// planes recycles the components' sample planes between decodes.
var planes bufpool.Pool[byte]

// colorSpace chooses the JPEG colour space as libjpeg's
// default_decompress_parms does.
func (d *decoder) colorSpace() (colorSpace, error) {
	switch len(d.comps) {
	case 1:
		return csGray, nil
	case 3:
		if d.jfif {
			return csYCbCr, nil
		}
		if d.adobe {
			if d.adobeTransform == 0 {
				return csRGB, nil
			}
			return csYCbCr, nil
		}
		if d.comps[0].id == 'R' && d.comps[1].id == 'G' && d.comps[2].id == 'B' {
			return csRGB, nil
		}
		return csYCbCr, nil
	case 4:
		if d.adobe && d.adobeTransform != 0 {
			return csYCCK, nil
		}
		return csCMYK, nil
	}
	return 0, UnsupportedError("color conversion for this number of components")
}

func (d *decoder) decode() (*Image, error) {
	if err := d.readHeader(); err != nil {
		return nil, err
	}
	cs, err := d.colorSpace()
	if err != nil {
		return nil, err
	}
	plans, needContext, err := d.upsamplePlans()
	if err != nil {
		return nil, err
	}
	d.setupRegion()
	if !d.arith {
		for i := 0; i < 2; i++ {
			if d.dcTables[i] == nil {
				d.dcTables[i] = []*huffSpec{stdDCLuma, stdDCChroma}[i]
			}
			if d.acTables[i] == nil {
				d.acTables[i] = []*huffSpec{stdACLuma, stdACChroma}[i]
			}
		}
	}
	for i := range d.comps {
		c := &d.comps[i]
		// Every sample of a plane that is read later is written first, so
		// planes come from a pool without clearing.
		plane := planes.Get(c.pbw * 8 * c.pbh * 8)
		c.plane = *plane
		defer planes.Put(plane)
		if d.multiScan {
			c.coefs = make([]int16, c.pbw*c.pbh*64)
		}
	}
	rows := d.height
	if !d.multiScan {
		done, err := d.decodeScan()
		if err == errSuspend {
			d.warn(warnEOF)
			if needContext {
				rows = (8*done - 1) * d.maxV
			} else {
				rows = 8 * done * d.maxV
			}
			rows = max(0, min(rows, d.height))
		} else if err != nil {
			return nil, err
		}
	} else {
		for {
			if _, err := d.decodeScan(); err != nil {
				if err == errSuspend {
					return nil, errTruncated
				}
				return nil, err
			}
			r, err := d.readMarkers()
			if err != nil {
				return nil, err
			}
			if r == reachedEOI {
				break
			}
		}
		if d.progressive && d.wouldSmooth() {
			return nil, UnsupportedError("progressive image with incompletely refined coefficients (libjpeg block smoothing)")
		}
		for i := range d.comps {
			c := &d.comps[i]
			// A component that never appeared in a scan keeps libjpeg's
			// zeroed multiplier table (c.qt is all zero): it comes out flat.
			stride := c.pbw * 8
			for by := 0; by < c.pbh; by++ {
				for bx := 0; bx < c.pbw; bx++ {
					if !d.needBlock(c, bx, by) {
						continue
					}
					blk := (*[64]int16)(c.coefs[(by*c.pbw+bx)*64:])
					idct(blk, &c.qt, c.plane, by*8*stride+bx*8, stride)
				}
			}
		}
	}
	img := &Image{Width: d.width, Height: d.height, Pix: d.outputBuffer(d.width * d.height * 3)}
	d.render(img, cs, plans, rows)
	img = applyOrientation(img, exifOrientation(d.exif))
	img.Warnings = d.warnings
	return img, nil
}

// warn records a libjpeg warning once.
func (d *decoder) warn(msg string) {
	for _, w := range d.warnings {
		if w == msg {
			return
		}
	}
	d.warnings = append(d.warnings, msg)
}

// latch copies a component's quantization table when it first appears in
// a scan, as libjpeg's latch_quant_tables does (values become int16
// multipliers, as in libjpeg's ISLOW_MULT_TYPE).
func (d *decoder) latch(c *component) error {
	if c.latchd {
		return nil
	}
	if c.tq >= numQuantTables || d.qt[c.tq] == nil {
		return FormatError("missing quantization table")
	}
	for i, v := range d.qt[c.tq] {
		c.qt[i] = int32(int16(v))
	}
	c.latchd = true
	return nil
}

// wouldSmooth reports whether libjpeg-turbo would apply its inter-block
// smoothing to a progressive image (some low-frequency coefficients not
// fully refined once all scans are read), which this package does not
// implement.
func (d *decoder) wouldSmooth() bool {
	useful := false
	for i := range d.comps {
		c := &d.comps[i]
		if !c.latchd {
			return false
		}
		q := d.qt[c.tq]
		if q == nil || q[0] == 0 || q[1] == 0 || q[8] == 0 || q[16] == 0 || q[9] == 0 || q[2] == 0 {
			return false
		}
		if c.coefBt[0] < 0 {
			return false
		}
		for k := 1; k < 10; k++ {
			if c.coefBt[k] != 0 {
				useful = true
			}
		}
	}
	return useful
}

type scanState struct {
	comps          []*component
	membership     [maxBlocksInMCU]int
	dc, ac         [maxCompsInScan]*huffTable
	lastDC         [maxCompsInScan]int32
	eobrun         int
	restartsToGo   int
	acNZ           [maxBlocksInMCU]bool // block has a nonzero AC coefficient (single-scan mode)
	ss, se, ah, al int
}

// decodeScan decodes the entropy-coded data of the current scan. In
// single-scan mode it transforms each MCU into the sample planes and
// returns how many iMCU rows were completed; errSuspend means the data
// ended (libjpeg suspension).
func (d *decoder) decodeScan() (int, error) {
	st := &scanState{comps: d.scan.comps, ss: d.scan.ss, se: d.scan.se, ah: d.scan.ah, al: d.scan.al}
	for _, c := range st.comps {
		if err := d.latch(c); err != nil {
			return 0, err
		}
	}
	var mcusX, mcusY, nblocks int
	if len(st.comps) == 1 {
		c := st.comps[0]
		mcusX, mcusY, nblocks = c.bw, c.bh, 1
	} else {
		mcusX, mcusY = d.mcusX, d.mcusY
		for i, c := range st.comps {
			n := c.h * c.v
			if nblocks+n > maxBlocksInMCU {
				return 0, FormatError("too many blocks in an MCU")
			}
			for j := 0; j < n; j++ {
				st.membership[nblocks+j] = i
			}
			nblocks += n
		}
	}

	// Entropy decoder start of pass.
	kind := 0 // 0 sequential, 1 DC first, 2 DC refine, 3 AC first, 4 AC refine
	if d.progressive {
		bad := false
		if st.ss == 0 {
			if st.se != 0 {
				bad = true
			}
		} else if st.ss > st.se || st.se > 63 || len(st.comps) != 1 {
			bad = true
		}
		if st.ah != 0 && st.al != st.ah-1 {
			bad = true
		}
		if st.al > 13 {
			bad = true
		}
		if bad {
			return 0, FormatError("bad progression parameters")
		}
		for _, c := range st.comps {
			for k := st.ss; k <= st.se; k++ {
				c.coefBt[k] = st.al
			}
		}
		switch {
		case st.ss == 0 && st.ah == 0:
			kind = 1
		case st.ss == 0:
			kind = 2
		case st.ah == 0:
			kind = 3
		default:
			kind = 4
		}
	}
	if d.arith {
		if err := d.arithStartPass(st); err != nil {
			return 0, err
		}
		d.ar.failed = false
	} else {
		if err := d.scanTables(st, kind == 0 || kind == 1, kind == 0 || kind == 3 || kind == 4); err != nil {
			return 0, err
		}
		d.bbuf, d.nbits, d.insufficient = 0, 0, false
		st.restartsToGo = d.restartInterval
	}

	var scratch [maxBlocksInMCU][64]int16
	blocks := make([]*[64]int16, nblocks)
	single := !d.multiScan
	for my := 0; my < mcusY; my++ {
		for mx := 0; mx < mcusX; mx++ {
			// Locate the blocks of this MCU.
			if single {
				for b := 0; b < nblocks; b++ {
					scratch[b] = [64]int16{}
					blocks[b] = &scratch[b]
				}
			} else if nblocks == 1 {
				c := st.comps[0]
				blocks[0] = (*[64]int16)(c.coefs[(my*c.pbw+mx)*64:])
			} else {
				b := 0
				for _, c := range st.comps {
					for y := 0; y < c.v; y++ {
						for x := 0; x < c.h; x++ {
							bx, by := mx*c.h+x, my*c.v+y
							blocks[b] = (*[64]int16)(c.coefs[(by*c.pbw+bx)*64:])
							b++
						}
					}
				}
			}
			if d.arith {
				if d.restartInterval > 0 {
					if st.restartsToGo == 0 {
						if err := d.arithRestart(st); err != nil {
							return 0, err
						}
					}
					st.restartsToGo--
				}
				switch kind {
				case 0:
					d.arithMCUSeq(st, blocks)
				case 1:
					d.arithMCUDCFirst(st, blocks)
				case 2:
					d.arithMCUDCRefine(st, blocks)
				case 3:
					d.arithMCUACFirst(st, blocks[0])
				case 4:
					d.arithMCUACRefine(st, blocks[0])
				}
				if d.ar.failed {
					return 0, errTruncated
				}
			} else {
				if d.restartInterval > 0 && st.restartsToGo == 0 {
					if !d.processRestartHuff(st) {
						return d.doneRows(my, len(st.comps)), errSuspend
					}
				}
				if !d.insufficient {
					ok := true
					switch kind {
					case 0:
						if single && d.restartInterval == 0 && d.unread == 0 && len(d.data)-d.pos >= 512*nblocks {
							if d.decodeMCUSeqFast(st, blocks) {
								break
							}
							for b := 0; b < nblocks; b++ {
								scratch[b] = [64]int16{}
							}
						}
						for b := 0; b < nblocks; b++ {
							st.acNZ[b] = true
						}
						ok = d.decodeMCUSeq(st, blocks)
					case 1:
						var err error
						ok, err = d.decodeMCUDCFirst(st, blocks)
						if err != nil {
							return 0, err
						}
					case 2:
						ok = d.decodeMCUDCRefine(st, blocks)
					case 3:
						ok = d.decodeMCUACFirst(st, blocks[0])
					case 4:
						ok = d.decodeMCUACRefine(st, blocks[0])
					}
					if !ok {
						return d.doneRows(my, len(st.comps)), errSuspend
					}
				}
				if d.restartInterval > 0 {
					st.restartsToGo--
				}
			}
			if single {
				if kind != 0 || d.arith {
					for b := 0; b < nblocks; b++ {
						st.acNZ[b] = true
					}
				}
				if nblocks == 1 {
					c := st.comps[0]
					stride := c.pbw * 8
					if d.needBlock(c, mx, my) {
						idctBlock(blocks[0], st.acNZ[0], &c.qt, c.plane, my*8*stride+mx*8, stride)
					}
				} else {
					b := 0
					for _, c := range st.comps {
						stride := c.pbw * 8
						for y := 0; y < c.v; y++ {
							for x := 0; x < c.h; x++ {
								bx, by := mx*c.h+x, my*c.v+y
								if d.needBlock(c, bx, by) {
									idctBlock(blocks[b], st.acNZ[b], &c.qt, c.plane, by*8*stride+bx*8, stride)
								}
								b++
							}
						}
					}
				}
			}
		}
	}
	return d.mcusY, nil
}

// doneRows converts the number of completed MCU rows of the current scan
// into completed iMCU rows.
func (d *decoder) doneRows(mcuRows, ncomps int) int {
	if ncomps == 1 {
		return mcuRows / d.scan.comps[0].v
	}
	return mcuRows
}
