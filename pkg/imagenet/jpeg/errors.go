package jpeg

// A FormatError reports that the input is not a valid JPEG file (or is one
// OpenCV gives no image for).
type FormatError string

func (e FormatError) Error() string { return "jpeg: invalid format: " + string(e) }

// An UnsupportedError reports that the input uses a valid but unsupported
// JPEG feature (one libjpeg-turbo 2.1 refuses too).
type UnsupportedError string

func (e UnsupportedError) Error() string { return "jpeg: unsupported feature: " + string(e) }

// errTruncated is returned when the data ends where libjpeg would suspend.
var errTruncated = FormatError("unexpected end of data")

// errSuspend is used internally when an entropy decoder runs out of data in
// the middle of an MCU (libjpeg's suspension).
type suspendError struct{}

func (suspendError) Error() string { return "jpeg: suspended" }

var errSuspend error = suspendError{}

// maxPixels bounds the image size accepted before any allocation.
const maxPixels = 1 << 28
