package imagenet

import (
	"bytes"
	"image"
	"image/gif"
	"image/png"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"

	"github.com/mobileone-go/mobileone/pkg/imagenet/jpeg"
)

// DecodeConfig reads only the headers of an image held in memory and
// returns its format (as Format names it) and the width and height Decode
// would give, so that a caller can refuse an image too large for it before
// any pixel memory is allocated. Errors are FormatError or
// UnsupportedError, as Decode's.
func DecodeConfig(data []byte) (format string, width, height int, err error) {
	format = Format(data)
	if format == "" {
		_, err := Decode(data) // the error for empty or unknown data
		return "", 0, 0, err
	}
	defer func() {
		if r := recover(); r != nil {
			err = FormatError(format + ": decoder panic in the header")
		}
	}()
	var cfg image.Config
	switch format {
	case "jpeg":
		w, h, err := jpeg.DecodeConfig(data)
		if err != nil {
			return format, 0, 0, wrapDecodeError(format, err)
		}
		return format, w, h, nil
	case "pnm":
		r := &pnmReader{data: data, pos: 2}
		w, err := r.uint("width", 10)
		if err != nil {
			return format, 0, 0, err
		}
		h, err := r.uint("height", 10)
		if err != nil {
			return format, 0, 0, err
		}
		return format, w, h, nil
	case "png":
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
	case "bmp":
		cfg, err = bmp.DecodeConfig(bytes.NewReader(data))
	case "tiff":
		cfg, err = tiff.DecodeConfig(bytes.NewReader(data))
	case "gif":
		cfg, err = gif.DecodeConfig(bytes.NewReader(data))
	case "webp":
		cfg, err = webp.DecodeConfig(bytes.NewReader(data))
	}
	if err != nil {
		return format, 0, 0, wrapDecodeError(format, err)
	}
	return format, cfg.Width, cfg.Height, nil
}
