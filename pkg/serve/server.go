// Package serve is an HTTP inference server for one MobileOne model with
// TorchServe's inference API shape: POST (or PUT) /predictions/{model}
// with an image as the body or as a multipart/form-data file, GET /ping,
// GET /models and GET /models/{model} (describe), and Prometheus metrics
// on GET /metrics. Answers are the JSON of `mobileone infer --json` for
// one image; errors are TorchServe's {"code", "type", "message"}.
//
// Concurrent requests are batched: each request reads, checks, decodes and
// preprocesses its image (at most Workers at a time), then one batcher
// runs the model on up to MaxBatch images that arrived within MaxDelay of
// each other. Every resource a client can make the server spend is
// bounded: the body (MaxBodyBytes, 413), the pixels of the image, read
// from its header before decoding (MaxPixels, 413), the requests in flight
// (MaxInFlight, 429), the time to send the request (ReadTimeout, then the
// connection is cut) and to answer it (Timeout, 503).
package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/predict"
)

// Options configure a Server. Zero values take the defaults.
type Options struct {
	Model        string        // the model's name in the URLs (required)
	ModelURL     string        // what /models reports as its source (the checkpoint)
	TopK         int           // classes per answer (default 5)
	MaxBatch     int           // images per forward pass (default 8)
	MaxDelay     time.Duration // how long a batch waits to fill (0: only the images already waiting; DefaultMaxDelay is a good value)
	Workers      int           // images decoded and preprocessed at once (default: the CPUs)
	MaxBodyBytes int64         // largest request body (default 6553500, TorchServe's max_request_size)
	MaxPixels    int64         // largest image, width×height (default 36 000 000)
	MaxInFlight  int           // requests received, queued or classified at once (default 100, TorchServe's job_queue_size)
	Timeout      time.Duration // from a request's arrival to its answer (default 30s)
}

// Defaults of Options.
const (
	DefaultTopK         = 5
	DefaultMaxBatch     = 8
	DefaultMaxDelay     = 10 * time.Millisecond
	DefaultMaxBodyBytes = 6553500
	DefaultMaxPixels    = 36_000_000
	DefaultMaxInFlight  = 100
	DefaultTimeout      = 30 * time.Second
)

func (o *Options) setDefaults() {
	if o.TopK <= 0 {
		o.TopK = DefaultTopK
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	o.MaxDelay = max(o.MaxDelay, 0)
	if o.Workers <= 0 {
		o.Workers = runtime.NumCPU()
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxPixels <= 0 {
		o.MaxPixels = DefaultMaxPixels
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
}

// Server answers the inference API for one model. Create it with New,
// serve it with an http.Server (or Serve), and Close it after the
// http.Server has shut down.
type Server struct {
	opts     Options
	pipe     *imagenet.Pipeline
	norm     imagenet.Normalizer
	classes  []string
	metrics  *metrics
	batcher  *batcher
	decoding chan struct{} // semaphore of Workers
	inFlight chan struct{} // semaphore of MaxInFlight
	mux      *http.ServeMux
}

// New returns a server classifying with m after pipe and norm (the
// config's test pipeline and data preprocessor), naming classes.
func New(m predict.Classifier, pipe *imagenet.Pipeline, norm imagenet.Normalizer, classes []string, opts Options) (*Server, error) {
	if opts.Model == "" {
		return nil, errors.New("serve: the model needs a name")
	}
	if strings.ContainsAny(opts.Model, "/?#") {
		return nil, fmt.Errorf("serve: model name %q: must not contain /, ? or #", opts.Model)
	}
	opts.setDefaults()
	s := &Server{opts: opts, pipe: pipe, norm: norm, classes: classes, metrics: newMetrics(),
		decoding: make(chan struct{}, opts.Workers), inFlight: make(chan struct{}, opts.MaxInFlight)}
	s.batcher = newBatcher(m, opts.MaxBatch, opts.MaxDelay, opts.MaxInFlight, s.metrics)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /predictions/{model}", s.handlePredict)
	mux.HandleFunc("PUT /predictions/{model}", s.handlePredict)
	mux.HandleFunc("GET /ping", s.handlePing)
	mux.HandleFunc("GET /models", s.handleModels)
	mux.HandleFunc("GET /models/{model}", s.handleDescribe)
	mux.HandleFunc("GET /metrics", s.handleMetrics)
	s.mux = mux
	return s, nil
}

// Options returns the server's options, defaults filled in.
func (s *Server) Options() Options { return s.opts }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close stops the batcher after the queued images are classified. Call it
// once no request is being served any more (after http.Server.Shutdown).
func (s *Server) Close() { s.batcher.close() }

// apiError is an answer other than 200, in TorchServe's error shape.
type apiError struct {
	Code    int    `json:"code"`
	Type    string `json:"type"`
	Message string `json:"message"`
	reason  string // the metrics' error label
}

func (e *apiError) Error() string { return e.Message }

func errorf(code int, typ, reason, format string, args ...any) *apiError {
	return &apiError{Code: code, Type: typ, Message: fmt.Sprintf(format, args...), reason: reason}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"code":500,"type":"InternalServerException","message":"encoding the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

func (s *Server) handlePredict(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.metrics.addInFlight(1)
	defer s.metrics.addInFlight(-1)
	res, aerr := s.predict(w, r)
	if aerr != nil {
		s.metrics.error(aerr.reason)
		if aerr.Code == http.StatusTooManyRequests || aerr.Code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		if aerr.Code == http.StatusRequestEntityTooLarge || aerr.Code == http.StatusRequestTimeout {
			w.Header().Set("Connection", "close") // the rest of the body is not read
		} else {
			drainBody(w, r)
		}
		writeJSON(w, aerr.Code, aerr)
		s.metrics.request(aerr.Code, time.Since(start))
		return
	}
	writeJSON(w, http.StatusOK, res)
	s.metrics.request(http.StatusOK, time.Since(start))
}

// drainLimit is how much of a refused request's unread body the server
// reads before answering.
const drainLimit = 1 << 20

// drainBody reads what is left of a refused request's body (a 404, 415 or
// 429 comes before reading it), up to drainLimit, within the read timeout.
// Otherwise the answer races the body: a client that asked to close the
// connection, or sends more than net/http drains by itself, is reset when
// the server closes with the body unread, and may see the reset instead of
// the answer. A longer body is not read: the connection closes after the
// answer.
func drainBody(w http.ResponseWriter, r *http.Request) {
	if n, _ := io.CopyN(io.Discard, r.Body, drainLimit+1); n > drainLimit {
		w.Header().Set("Connection", "close")
	}
}

// predict answers one prediction request.
func (s *Server) predict(w http.ResponseWriter, r *http.Request) (*predict.Result, *apiError) {
	if name := r.PathValue("model"); name != s.opts.Model {
		return nil, errorf(http.StatusNotFound, "ModelNotFoundException", "model_not_found", "Model not found: %s (this server has %s)", name, s.opts.Model)
	}
	select {
	case s.inFlight <- struct{}{}:
		defer func() { <-s.inFlight }()
	default:
		return nil, errorf(http.StatusTooManyRequests, "TooManyRequestsException", "too_many_requests",
			"%d requests are in flight already (--max-inflight): retry later", s.opts.MaxInFlight)
	}
	ctx, cancel := context.WithTimeoutCause(r.Context(), s.opts.Timeout, errTimeout)
	defer cancel()
	name, data, aerr := s.readImage(w, r)
	if aerr != nil {
		return nil, aerr
	}
	in, aerr := s.prepare(ctx, name, data)
	if aerr != nil {
		return nil, aerr
	}
	scores, err := s.batcher.submit(ctx, in)
	if err != nil {
		return nil, s.contextError(err)
	}
	res := predict.Rank(name, scores, s.classes, s.opts.TopK)
	return &res, nil
}

var errTimeout = errors.New("request timeout")

func (s *Server) contextError(err error) *apiError {
	switch {
	case errors.Is(err, errTimeout):
		return errorf(http.StatusServiceUnavailable, "ServiceUnavailableException", "timeout", "the prediction was not ready within %s (--timeout)", s.opts.Timeout)
	case errors.Is(err, errClosed):
		return errorf(http.StatusServiceUnavailable, "ServiceUnavailableException", "shutdown", "%v", err)
	case errors.Is(err, context.Canceled):
		return errorf(499, "ClientClosedRequest", "client_gone", "the client closed the request")
	}
	return errorf(http.StatusInternalServerError, "InternalServerException", "internal", "%v", err)
}

// prepare checks the image's size from its header, then decodes and
// preprocesses it (at most Workers at a time).
func (s *Server) prepare(ctx context.Context, name string, data []byte) (predict.Input, *apiError) {
	format, w, h, err := imagenet.DecodeConfig(data)
	if err != nil {
		return predict.Input{}, imageError(err)
	}
	if int64(w)*int64(h) > s.opts.MaxPixels {
		return predict.Input{}, errorf(http.StatusRequestEntityTooLarge, "PayloadTooLargeException", "too_many_pixels",
			"the %s image is %dx%d, %d pixels: more than the %d pixels allowed (--max-pixels)", format, w, h, int64(w)*int64(h), s.opts.MaxPixels)
	}
	select {
	case s.decoding <- struct{}{}:
	case <-ctx.Done():
		return predict.Input{}, s.contextError(context.Cause(ctx))
	}
	defer func() { <-s.decoding }()
	img, err := s.pipe.Decode(data)
	if err != nil {
		return predict.Input{}, imageError(err)
	}
	if len(img.Warnings) > 0 {
		// OpenCV would classify what libjpeg salvaged (a truncated upload
		// comes out grey at the bottom); a server tells its client instead.
		return predict.Input{}, errorf(http.StatusBadRequest, "BadRequestException", "bad_image",
			"damaged %s image: %s", format, strings.Join(img.Warnings, "; "))
	}
	in, err := predict.Preprocess(name, img, s.pipe, s.norm)
	if err != nil {
		return predict.Input{}, errorf(http.StatusBadRequest, "BadRequestException", "bad_image", "preprocessing the image: %v", err)
	}
	return in, nil
}

func imageError(err error) *apiError {
	var ue imagenet.UnsupportedError
	if errors.As(err, &ue) {
		return errorf(http.StatusUnsupportedMediaType, "UnsupportedMediaTypeException", "bad_image", "%v", err)
	}
	return errorf(http.StatusBadRequest, "BadRequestException", "bad_image", "%v", err)
}

// readImage reads the image of a request: the whole body, or the one file
// of a multipart/form-data body. Its name is the file name of the part
// ("" for a plain body).
func (s *Server) readImage(w http.ResponseWriter, r *http.Request) (string, []byte, *apiError) {
	ct := r.Header.Get("Content-Type")
	mediaType := ""
	if ct != "" {
		var err error
		if mediaType, _, err = mime.ParseMediaType(ct); err != nil {
			return "", nil, errorf(http.StatusUnsupportedMediaType, "UnsupportedMediaTypeException", "content_type", "Content-Type %q: %v", ct, err)
		}
	}
	switch {
	case mediaType == "" || mediaType == "application/octet-stream" || strings.HasPrefix(mediaType, "image/"):
	case mediaType == "multipart/form-data":
	default:
		return "", nil, errorf(http.StatusUnsupportedMediaType, "UnsupportedMediaTypeException", "content_type",
			"Content-Type %s: send the image as the body (image/*, application/octet-stream) or as a multipart/form-data file", mediaType)
	}
	if r.ContentLength > s.opts.MaxBodyBytes {
		return "", nil, s.tooLarge()
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
	if mediaType != "multipart/form-data" {
		data, aerr := s.readAll(r.Body)
		if aerr == nil && len(data) == 0 {
			aerr = errorf(http.StatusBadRequest, "BadRequestException", "empty", "empty body: send the image's bytes")
		}
		return "", data, aerr
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return "", nil, errorf(http.StatusBadRequest, "BadRequestException", "bad_body", "multipart body: %v", err)
	}
	var name string
	var data []byte
	found := false
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", nil, s.bodyError(err)
		}
		if part.FileName() == "" && !isImageField(part.FormName()) {
			if _, err := io.Copy(io.Discard, part); err != nil {
				return "", nil, s.bodyError(err)
			}
			continue
		}
		if found {
			return "", nil, errorf(http.StatusBadRequest, "BadRequestException", "bad_body", "more than one image in the form: send one image per request")
		}
		found = true
		name = part.FileName()
		var aerr *apiError
		if data, aerr = s.readAll(part); aerr != nil {
			return "", nil, aerr
		}
	}
	switch {
	case !found:
		return "", nil, errorf(http.StatusBadRequest, "BadRequestException", "empty", "no image in the form: send a file (or a field named data)")
	case len(data) == 0:
		return "", nil, errorf(http.StatusBadRequest, "BadRequestException", "empty", "the form's image %q is empty", name)
	}
	return name, data, nil
}

// isImageField reports whether a multipart field without a file name
// holds the image (TorchServe's clients send it as "data" or "body").
func isImageField(name string) bool {
	return name == "data" || name == "body" || name == "file" || name == "image"
}

func (s *Server) readAll(r io.Reader) ([]byte, *apiError) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, s.bodyError(err)
	}
	return data, nil
}

func (s *Server) tooLarge() *apiError {
	return errorf(http.StatusRequestEntityTooLarge, "PayloadTooLargeException", "body_too_large",
		"the body is larger than the %d bytes allowed (--max-body)", s.opts.MaxBodyBytes)
}

// bodyError classifies a failure to read the request.
func (s *Server) bodyError(err error) *apiError {
	var mbe *http.MaxBytesError
	var te interface{ Timeout() bool }
	switch {
	case errors.As(err, &mbe):
		return s.tooLarge()
	case errors.As(err, &te) && te.Timeout():
		return errorf(http.StatusRequestTimeout, "RequestTimeoutException", "slow_client", "the request was not received in time (--read-timeout)")
	}
	return errorf(http.StatusBadRequest, "BadRequestException", "bad_body", "reading the request: %v", err)
}

func (s *Server) handlePing(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "Healthy"})
}

type modelEntry struct {
	ModelName string `json:"modelName"`
	ModelURL  string `json:"modelUrl"`
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string][]modelEntry{"models": {{s.opts.Model, s.opts.ModelURL}}})
}

// handleDescribe answers TorchServe's describe-model call.
func (s *Server) handleDescribe(w http.ResponseWriter, r *http.Request) {
	if name := r.PathValue("model"); name != s.opts.Model {
		writeJSON(w, http.StatusNotFound, errorf(http.StatusNotFound, "ModelNotFoundException", "", "Model not found: %s", name))
		return
	}
	type worker struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	workers := make([]worker, s.opts.Workers)
	for i := range workers {
		workers[i] = worker{ID: fmt.Sprint(9000 + i), Status: "READY"}
	}
	writeJSON(w, http.StatusOK, []map[string]any{{
		"modelName":       s.opts.Model,
		"modelVersion":    "1.0",
		"modelUrl":        s.opts.ModelURL,
		"runtime":         "go",
		"minWorkers":      s.opts.Workers,
		"maxWorkers":      s.opts.Workers,
		"batchSize":       s.opts.MaxBatch,
		"maxBatchDelay":   s.opts.MaxDelay.Milliseconds(),
		"responseTimeout": int(s.opts.Timeout.Seconds()),
		"loadedAtStartup": true,
		"workers":         workers,
	}})
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_ = s.metrics.write(w)
}
