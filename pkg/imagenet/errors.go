package imagenet

// FormatError reports input that is not valid: a corrupt image, a malformed
// annotation line, a bad pipeline parameter.
type FormatError string

func (e FormatError) Error() string { return "imagenet: invalid format: " + string(e) }

// UnsupportedError reports valid input that this package does not handle
// (yet): an image format, a transform type, a resize backend.
type UnsupportedError string

func (e UnsupportedError) Error() string { return "imagenet: unsupported: " + string(e) }
