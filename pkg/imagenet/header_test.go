package imagenet

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mobileone-go/mobileone/internal/loadtest"
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

func TestDecodeConfigHeaderOnly(t *testing.T) {
	format, w, h, err := DecodeConfig(loadtest.PNGHeader(100000, 100000))
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
