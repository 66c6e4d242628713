package jpeg

// EXIF orientation as OpenCV 4.6 reads it (modules/imgcodecs/src/exif.cpp):
// the payload of the first APP1 segment, minus its first 6 bytes (not
// checked to be "Exif\0\0"), is read as a TIFF header and IFD0; entries
// are parsed in order and a parse failure stops the walk but keeps the
// entries already read; the first Orientation entry wins and its value is
// the 16-bit number 8 bytes into the entry, whatever its type.

type exifParseError struct{}

type exifReader struct {
	data  []byte
	intel bool
}

func (r *exifReader) u16(off uint64) uint16 {
	if off+1 >= uint64(len(r.data)) {
		panic(exifParseError{})
	}
	if r.intel {
		return uint16(r.data[off]) | uint16(r.data[off+1])<<8
	}
	return uint16(r.data[off])<<8 | uint16(r.data[off+1])
}

func (r *exifReader) u32(off uint64) uint32 {
	if off+3 >= uint64(len(r.data)) {
		panic(exifParseError{})
	}
	b := r.data[off : off+4]
	if r.intel {
		return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
	}
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// exifOrientation returns the orientation tag OpenCV would apply, or 0.
func exifOrientation(app1 []byte) (orientation int) {
	if len(app1) <= 6 {
		return 0
	}
	r := &exifReader{data: app1[6:]}
	if len(r.data) > 1 && r.data[0] != r.data[1] {
		// OpenCV: format NONE, read as big-endian.
	} else if r.data[0] == 'I' {
		r.intel = true
	}
	defer func() {
		if e := recover(); e != nil {
			if _, ok := e.(exifParseError); !ok {
				panic(e)
			}
		}
	}()
	if r.u16(2) != 42 {
		return 0
	}
	offset := r.u32(4)
	n := int(r.u16(uint64(offset)))
	offset += 2
	for i := 0; i < n; i++ {
		off := uint64(offset)
		tag := r.u16(off)
		switch tag {
		case 0x010E, 0x010F, 0x0110, 0x0131, 0x0132, 0x8298: // strings
			size := r.u32(off + 4)
			dataOff := uint32(8)
			if size > 4 {
				dataOff = r.u32(off + 8)
			}
			if uint64(dataOff) > uint64(len(r.data)) || uint64(dataOff+size) > uint64(len(r.data)) ||
				uint64(dataOff)+uint64(size) > uint64(len(r.data)) {
				panic(exifParseError{})
			}
		case 0x0112: // Orientation
			v := int(r.u16(off + 8))
			if orientation == 0 {
				orientation = v
				if v == 0 {
					orientation = -1 // present but 0: nothing to do
				}
			}
		case 0x011A, 0x011B, 0x013E: // one rational
			ro := r.u32(off + 8)
			r.u32(uint64(ro))
			r.u32(uint64(ro + 4))
		case 0x013F, 0x0211: // three rationals
			ro := r.u32(off + 8)
			for k := 0; k < 3; k++ {
				r.u32(uint64(ro))
				r.u32(uint64(ro + 4))
				ro += 8
			}
		case 0x0214: // six rationals
			ro := r.u32(off + 8)
			for k := 0; k < 6; k++ {
				r.u32(uint64(ro))
				r.u32(uint64(ro + 4))
				ro += 8
			}
		case 0x0128, 0x0213:
			r.u16(off + 8)
		}
		offset += 12
	}
	return orientation
}
