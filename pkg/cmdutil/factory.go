package cmdutil

import (
	"net/http"
	"time"
)

// Factory hands commands their dependencies. Fields are functions or
// values set once by the root command; tests replace them.
type Factory struct {
	IO      *IOStreams
	Version string
	// HTTPClient downloads checkpoints given as URLs.
	HTTPClient func() *http.Client
	// Now is the clock (work-dir timestamps, ETA).
	Now func() time.Time
}

// NewFactory returns the Factory of the real process.
func NewFactory(version string) *Factory {
	return &Factory{
		IO:         System(),
		Version:    version,
		HTTPClient: func() *http.Client { return &http.Client{Timeout: 0} },
		Now:        time.Now,
	}
}
