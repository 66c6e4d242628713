package jpeg

import "image"

// Marker codes (T.81 Table B.1).
const (
	mSOF0  = 0xC0
	mSOF1  = 0xC1
	mSOF2  = 0xC2
	mSOF3  = 0xC3
	mDHT   = 0xC4
	mSOF5  = 0xC5
	mSOF6  = 0xC6
	mSOF7  = 0xC7
	mJPG   = 0xC8
	mSOF9  = 0xC9
	mSOF10 = 0xCA
	mSOF11 = 0xCB
	mDAC   = 0xCC
	mSOF13 = 0xCD
	mSOF14 = 0xCE
	mSOF15 = 0xCF
	mRST0  = 0xD0
	mRST7  = 0xD7
	mSOI   = 0xD8
	mEOI   = 0xD9
	mSOS   = 0xDA
	mDQT   = 0xDB
	mDNL   = 0xDC
	mDRI   = 0xDD
	mAPP0  = 0xE0
	mAPP1  = 0xE1
	mAPP14 = 0xEE
	mAPP15 = 0xEF
	mCOM   = 0xFE
	mTEM   = 0x01
)

const (
	maxComponents   = 10 // libjpeg's MAX_COMPONENTS
	maxCompsInScan  = 4
	maxBlocksInMCU  = 10 // D_MAX_BLOCKS_IN_MCU
	maxDimension    = 65500
	numHuffTables   = 4
	numQuantTables  = 4
	numArithTables  = 16
	maxSampleFactor = 4
)

// Results of readMarkers.
const (
	reachedSOS = iota
	reachedEOI
)

type component struct {
	id     int
	h, v   int
	tq     int
	index  int
	qt     [64]int32 // latched quantization table, natural order, as libjpeg's int16 multipliers
	latchd bool

	// Derived sizes (libjpeg's names in comments).
	bw, bh int // width_in_blocks, height_in_blocks
	dw, dh int // downsampled_width, downsampled_height
	pbw    int // blocks per row in the (MCU-padded) buffers
	pbh    int // block rows in the (MCU-padded) buffers

	plane  []byte  // decoded samples, stride pbw*8
	coefs  []int16 // multi-scan mode: pbw*pbh*64 coefficients
	dcTbl  int
	acTbl  int
	coefBt [64]int   // progressive: coef_bits (-1 = never coded)
	span   blockSpan // DecodeRegion: the blocks the region depends on
}

type scanInfo struct {
	comps          []*component
	ss, se, ah, al int
}

type decoder struct {
	data []byte
	pos  int
	// unread is a marker already read (by next_marker or an entropy
	// decoder) and not yet processed; 0 if none.
	unread byte

	sawSOI, sawSOF bool
	progressive    bool
	arith          bool
	width, height  int
	comps          []component
	maxH, maxV     int
	mcusX, mcusY   int // MCUs per row / per column of an interleaved scan

	qt       [numQuantTables]*[64]uint16
	dcTables [numHuffTables]*huffSpec
	acTables [numHuffTables]*huffSpec
	arithL   [numArithTables]uint8
	arithU   [numArithTables]uint8
	arithK   [numArithTables]uint8

	restartInterval int
	nextRestart     int

	jfif           bool
	adobe          bool
	adobeTransform byte
	exif           []byte // payload of the first APP1 segment seen before the first SOS
	sawAPP1        bool

	// Entropy decoder state.
	bbuf         uint64
	nbits        int
	insufficient bool
	warnings     []string
	ar           arithState

	// DecodeRegion: the pixels wanted, and whether they limit the work
	// (see setupRegion).
	region     image.Rectangle
	regionUsed bool
	pix        []byte // DecodeRegion's buffer for the image, if any

	multiScan  bool
	scanNumber int
	scan       scanInfo
}

func (d *decoder) readByte() (byte, error) {
	if d.pos >= len(d.data) {
		return 0, errTruncated
	}
	c := d.data[d.pos]
	d.pos++
	return c, nil
}

func (d *decoder) read2() (int, error) {
	if d.pos+2 > len(d.data) {
		d.pos = len(d.data)
		return 0, errTruncated
	}
	v := int(d.data[d.pos])<<8 | int(d.data[d.pos+1])
	d.pos += 2
	return v, nil
}

// nextMarker scans to the next marker like libjpeg's next_marker: any bytes
// that are not 0xFF are skipped, 0xFF padding is swallowed, and FF/00 pairs
// are skipped as data.
func (d *decoder) nextMarker() error {
	for {
		c, err := d.readByte()
		if err != nil {
			return err
		}
		for c != 0xFF {
			if c, err = d.readByte(); err != nil {
				return err
			}
		}
		for c == 0xFF {
			if c, err = d.readByte(); err != nil {
				return err
			}
		}
		if c != 0 {
			d.unread = c
			return nil
		}
	}
}

// readMarkers processes markers until an SOS (whose header it reads) or an
// EOI, as libjpeg's read_markers does.
func (d *decoder) readMarkers() (int, error) {
	for {
		if d.unread == 0 {
			if !d.sawSOI {
				// first_marker: the file must start with FF D8.
				if len(d.data) < 2 || d.data[0] != 0xFF || d.data[1] != mSOI {
					return 0, FormatError("missing SOI marker")
				}
				d.pos = 2
				d.unread = mSOI
			} else if err := d.nextMarker(); err != nil {
				return 0, err
			}
		}
		m := d.unread
		var err error
		switch {
		case m == mSOI:
			if d.sawSOI {
				return 0, FormatError("duplicate SOI marker")
			}
			d.sawSOI = true
			d.restartInterval = 0
			for i := range d.arithL {
				d.arithL[i], d.arithU[i], d.arithK[i] = 0, 1, 5
			}
		case m == mSOF0 || m == mSOF1:
			err = d.readSOF(false, false)
		case m == mSOF2:
			err = d.readSOF(true, false)
		case m == mSOF9:
			err = d.readSOF(false, true)
		case m == mSOF10:
			err = d.readSOF(true, true)
		case m == mSOF3 || m == mSOF5 || m == mSOF6 || m == mSOF7 || m == mJPG ||
			m == mSOF11 || m == mSOF13 || m == mSOF14 || m == mSOF15:
			return 0, UnsupportedError("SOF type (lossless or hierarchical JPEG)")
		case m == mSOS:
			if err = d.readSOS(); err != nil {
				return 0, err
			}
			d.unread = 0
			return reachedSOS, nil
		case m == mEOI:
			d.unread = 0
			return reachedEOI, nil
		case m == mDAC:
			err = d.readDAC()
		case m == mDHT:
			err = d.readDHT()
		case m == mDQT:
			err = d.readDQT()
		case m == mDRI:
			err = d.readDRI()
		case m >= mAPP0 && m <= mAPP15:
			err = d.readAPP(m)
		case m == mCOM || m == mDNL:
			err = d.skipSegment()
		case (m >= mRST0 && m <= mRST7) || m == mTEM:
			// Parameterless markers: ignored.
		default:
			return 0, FormatError("unknown marker")
		}
		if err != nil {
			return 0, err
		}
		d.unread = 0
	}
}

func (d *decoder) segmentLength() (int, error) {
	n, err := d.read2()
	if err != nil {
		return 0, err
	}
	return n - 2, nil
}

func (d *decoder) skipSegment() error {
	n, err := d.segmentLength()
	if err != nil {
		return err
	}
	if n > 0 {
		if n > len(d.data)-d.pos {
			d.pos = len(d.data)
			return errTruncated
		}
		d.pos += n
	}
	return nil
}

func (d *decoder) readSOF(prog, arith bool) error {
	if d.sawSOF {
		return FormatError("duplicate SOF marker")
	}
	d.progressive, d.arith = prog, arith
	n, err := d.segmentLength()
	if err != nil {
		return err
	}
	if d.pos+6 > len(d.data) {
		return errTruncated
	}
	b := d.data[d.pos : d.pos+6]
	d.pos += 6
	precision := int(b[0])
	d.height = int(b[1])<<8 | int(b[2])
	d.width = int(b[3])<<8 | int(b[4])
	nc := int(b[5])
	n -= 6
	if d.height <= 0 || d.width <= 0 || nc <= 0 {
		return FormatError("empty image (zero width, height or components)")
	}
	if n != nc*3 {
		return FormatError("bad SOF length")
	}
	if d.pos+n > len(d.data) {
		return errTruncated
	}
	d.comps = make([]component, nc)
	for i := range d.comps {
		c := &d.comps[i]
		c.id = int(d.data[d.pos])
		c.h = int(d.data[d.pos+1]>>4) & 15
		c.v = int(d.data[d.pos+1]) & 15
		c.tq = int(d.data[d.pos+2])
		c.index = i
		d.pos += 3
	}
	d.sawSOF = true
	if precision != 8 {
		return UnsupportedError("sample precision other than 8 bits")
	}
	return nil
}

func (d *decoder) readSOS() error {
	if !d.sawSOF {
		return FormatError("SOS before SOF")
	}
	length, err := d.segmentLength()
	if err != nil {
		return err
	}
	nb, err := d.readByte()
	if err != nil {
		return err
	}
	n := int(nb)
	if length != n*2+4 || n < 1 || n > maxCompsInScan {
		return FormatError("bad SOS length")
	}
	d.scan.comps = d.scan.comps[:0]
	for i := 0; i < n; i++ {
		if d.pos+2 > len(d.data) {
			return errTruncated
		}
		cc, c := int(d.data[d.pos]), d.data[d.pos+1]
		d.pos += 2
		var comp *component
		for j := range d.comps {
			if d.comps[j].id == cc {
				comp = &d.comps[j]
				break
			}
		}
		if comp == nil {
			return FormatError("SOS names an unknown component")
		}
		for _, p := range d.scan.comps {
			if p == comp {
				return FormatError("SOS names a component twice")
			}
		}
		comp.dcTbl = int(c >> 4)
		comp.acTbl = int(c & 15)
		d.scan.comps = append(d.scan.comps, comp)
	}
	if d.pos+3 > len(d.data) {
		return errTruncated
	}
	d.scan.ss = int(d.data[d.pos])
	d.scan.se = int(d.data[d.pos+1])
	d.scan.ah = int(d.data[d.pos+2] >> 4)
	d.scan.al = int(d.data[d.pos+2] & 15)
	d.pos += 3
	d.nextRestart = 0
	d.scanNumber++
	return nil
}

func (d *decoder) readDHT() error {
	length, err := d.segmentLength()
	if err != nil {
		return err
	}
	for length > 16 {
		if d.pos+17 > len(d.data) {
			return errTruncated
		}
		index := int(d.data[d.pos])
		spec := &huffSpec{}
		count := 0
		for i := 1; i <= 16; i++ {
			spec.bits[i] = int(d.data[d.pos+i])
			count += spec.bits[i]
		}
		d.pos += 17
		length -= 17
		if count > 256 || count > length {
			return FormatError("bad Huffman table")
		}
		if d.pos+count > len(d.data) {
			return errTruncated
		}
		copy(spec.vals[:], d.data[d.pos:d.pos+count])
		spec.count = count
		d.pos += count
		length -= count
		if index&0x10 != 0 {
			index -= 0x10
			if index >= numHuffTables {
				return FormatError("bad Huffman table index")
			}
			d.acTables[index] = spec
		} else {
			if index >= numHuffTables {
				return FormatError("bad Huffman table index")
			}
			d.dcTables[index] = spec
		}
	}
	if length != 0 {
		return FormatError("bad DHT length")
	}
	return nil
}

func (d *decoder) readDQT() error {
	length, err := d.segmentLength()
	if err != nil {
		return err
	}
	for length > 0 {
		length--
		nb, err := d.readByte()
		if err != nil {
			return err
		}
		prec, n := int(nb>>4), int(nb&15)
		if n >= numQuantTables {
			return FormatError("bad quantization table index")
		}
		t := d.qt[n]
		if t == nil {
			t = new([64]uint16)
			d.qt[n] = t
		}
		for i := 0; i < 64; i++ {
			var v int
			if prec != 0 {
				v, err = d.read2()
			} else {
				var b byte
				b, err = d.readByte()
				v = int(b)
			}
			if err != nil {
				return err
			}
			t[zigzag[i]] = uint16(v)
		}
		if prec != 0 {
			length -= 128
		} else {
			length -= 64
		}
	}
	if length != 0 {
		return FormatError("bad DQT length")
	}
	return nil
}

func (d *decoder) readDRI() error {
	length, err := d.segmentLength()
	if err != nil {
		return err
	}
	if length != 2 {
		return FormatError("bad DRI length")
	}
	v, err := d.read2()
	if err != nil {
		return err
	}
	d.restartInterval = v
	return nil
}

func (d *decoder) readDAC() error {
	length, err := d.segmentLength()
	if err != nil {
		return err
	}
	for length > 0 {
		if d.pos+2 > len(d.data) {
			return errTruncated
		}
		index, val := int(d.data[d.pos]), d.data[d.pos+1]
		d.pos += 2
		length -= 2
		if index >= 2*numArithTables {
			return FormatError("bad DAC index")
		}
		if index >= numArithTables {
			d.arithK[index-numArithTables] = val
		} else {
			d.arithL[index] = val & 15
			d.arithU[index] = val >> 4
			if d.arithL[index] > d.arithU[index] {
				return FormatError("bad DAC value")
			}
		}
	}
	if length != 0 {
		return FormatError("bad DAC length")
	}
	return nil
}

// readAPP handles APPn segments: APP0 (JFIF) and APP14 (Adobe) are examined
// as libjpeg does, the first APP1 is kept for OpenCV's EXIF reader.
func (d *decoder) readAPP(m byte) error {
	length, err := d.segmentLength()
	if err != nil {
		return err
	}
	bogus := length < 0
	if bogus {
		length = 0
	}
	end := d.pos + length
	if end > len(d.data) {
		d.pos = len(d.data)
		return errTruncated
	}
	b := d.data[d.pos:end]
	switch m {
	case mAPP0:
		if len(b) >= 14 && b[0] == 'J' && b[1] == 'F' && b[2] == 'I' && b[3] == 'F' && b[4] == 0 {
			d.jfif = true
		}
	case mAPP14:
		if len(b) >= 12 && b[0] == 'A' && b[1] == 'd' && b[2] == 'o' && b[3] == 'b' && b[4] == 'e' {
			d.adobe = true
			d.adobeTransform = b[11]
		}
	case mAPP1:
		if !d.sawAPP1 && !bogus {
			d.sawAPP1 = true
			d.exif = b
		}
	}
	d.pos = end
	return nil
}

// zigzag[i] is the natural-order index of the i-th coefficient in zigzag
// order; the 16 extra entries absorb run lengths that overshoot in corrupt
// data, as libjpeg's jpeg_natural_order does.
var zigzag = [64 + 16]int{
	0, 1, 8, 16, 9, 2, 3, 10,
	17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34,
	27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36,
	29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46,
	53, 60, 61, 54, 47, 55, 62, 63,
	63, 63, 63, 63, 63, 63, 63, 63,
	63, 63, 63, 63, 63, 63, 63, 63,
}
