package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// HTTPOptions are the connection limits of Serve.
type HTTPOptions struct {
	// ReadTimeout bounds the time to receive a whole request, body
	// included: a slower client is cut off (default 30s).
	ReadTimeout time.Duration
	// Grace is how long a shutdown waits for the requests in flight
	// (default 30s).
	Grace time.Duration
}

// Serve answers s's API on l until ctx ends (SIGTERM, SIGINT), then shuts
// down gracefully: it stops accepting connections, finishes the requests
// in flight (up to Grace), and stops the batcher. It closes s.
func Serve(ctx context.Context, l net.Listener, s *Server, o HTTPOptions) error {
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 30 * time.Second
	}
	if o.Grace <= 0 {
		o.Grace = 30 * time.Second
	}
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: min(o.ReadTimeout, 10*time.Second),
		ReadTimeout:       o.ReadTimeout,
		WriteTimeout:      o.ReadTimeout + s.opts.Timeout + 5*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	select {
	case err := <-errc:
		s.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), o.Grace)
	defer cancel()
	err := hs.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		hs.Close()
		s.Close()
		return fmt.Errorf("serve: shutting down: requests still running after %s were cut off: %w", o.Grace, err)
	}
	s.Close()
	return nil
}
