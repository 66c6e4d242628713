package imagenet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
)

// DecodeConfig gives the size Decode gives, for every committed image.
func TestDecodeConfigMatchesDecode(t *testing.T) {
	paths, _ := filepath.Glob("../../testdata/imagenet/*")
	n := 0
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil || Format(data) == "" {
			continue
		}
		m, err := Decode(data)
		if err != nil {
			continue
		}
		format, w, h, err := DecodeConfig(data)
		if err != nil || format != Format(data) || w != m.Width || h != m.Height {
			t.Errorf("%s: DecodeConfig %s %dx%d %v, Decode %dx%d", p, format, w, h, err, m.Width, m.Height)
		}
		n++
	}
	if n < 3 {
		t.Fatalf("only %d images checked", n)
	}
}

// pngHeader is a PNG signature and IHDR chunk claiming w×h RGB pixels,
// with no image data.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func TestDecodeConfigHeaderOnly(t *testing.T) {
	format, w, h, err := DecodeConfig(pngHeader(100000, 100000))
	if err != nil || format != "png" || w != 100000 || h != 100000 {
		t.Errorf("got %s %dx%d %v", format, w, h, err)
	}
	for _, data := range [][]byte{nil, []byte("hello"), {0xff, 0xd8, 0xff, 0xe0, 0, 4}} {
		_, _, _, err := DecodeConfig(data)
		var fe FormatError
		if !errors.As(err, &fe) {
			t.Errorf("%q: got %v, want a FormatError", data, err)
		}
	}
}
