package serve

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"sync"
	"time"
)

// metrics are the server's Prometheus metrics, written in the text
// exposition format (version 0.0.4) by hand: counters of requests by
// status code and of errors by reason, histograms of request latency and
// batch size, and gauges of the requests in flight and queued.
type metrics struct {
	mu       sync.Mutex
	requests map[int]uint64    // by HTTP status code
	errors   map[string]uint64 // by reason
	latency  histogram
	batch    histogram
	images   uint64
	inFlight int64
	queued   int64
	start    time.Time
}

// latencyBuckets (seconds) and batchBuckets (images) are the histograms'
// upper bounds.
var (
	latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	batchBuckets   = []float64{1, 2, 4, 8, 16, 32, 64, 128}
)

type histogram struct {
	bounds []float64
	counts []uint64 // per bound, not cumulative; one more for +Inf
	sum    float64
	n      uint64
}

func newHistogram(bounds []float64) histogram {
	return histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	i := sort.SearchFloat64s(h.bounds, v) // first bound >= v: le is inclusive
	h.counts[i]++
	h.sum += v
	h.n++
}

func newMetrics() *metrics {
	return &metrics{requests: map[int]uint64{}, errors: map[string]uint64{},
		latency: newHistogram(latencyBuckets), batch: newHistogram(batchBuckets), start: time.Now()}
}

func (m *metrics) request(code int, d time.Duration) {
	m.mu.Lock()
	m.requests[code]++
	m.latency.observe(d.Seconds())
	m.mu.Unlock()
}

func (m *metrics) error(reason string) {
	m.mu.Lock()
	m.errors[reason]++
	m.mu.Unlock()
}

func (m *metrics) batchDone(n int) {
	m.mu.Lock()
	m.batch.observe(float64(n))
	m.images += uint64(n)
	m.mu.Unlock()
}

func (m *metrics) addInFlight(d int64) {
	m.mu.Lock()
	m.inFlight += d
	m.mu.Unlock()
}

func (m *metrics) addQueued(d int64) {
	m.mu.Lock()
	m.queued += d
	m.mu.Unlock()
}

// write prints every metric in the text exposition format.
func (m *metrics) write(w io.Writer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := &promWriter{w: w}
	p.header("mobileone_requests_total", "counter", "Prediction requests answered, by HTTP status code.")
	for _, code := range sortedKeys(m.requests) {
		p.sample("mobileone_requests_total", fmt.Sprintf(`code="%d"`, code), float64(m.requests[code]))
	}
	p.header("mobileone_errors_total", "counter", "Prediction requests that failed, by reason.")
	for _, reason := range sortedKeys(m.errors) {
		p.sample("mobileone_errors_total", `reason="`+reason+`"`, float64(m.errors[reason]))
	}
	p.histogram("mobileone_request_duration_seconds", "Time from the request's arrival to its answer, in seconds.", &m.latency)
	p.histogram("mobileone_batch_size", "Images per forward pass.", &m.batch)
	p.header("mobileone_images_total", "counter", "Images classified.")
	p.sample("mobileone_images_total", "", float64(m.images))
	p.header("mobileone_requests_in_flight", "gauge", "Prediction requests being received, preprocessed or classified.")
	p.sample("mobileone_requests_in_flight", "", float64(m.inFlight))
	p.header("mobileone_batch_queue_length", "gauge", "Preprocessed images waiting for a forward pass.")
	p.sample("mobileone_batch_queue_length", "", float64(m.queued))
	p.header("mobileone_uptime_seconds", "gauge", "Seconds since the server started.")
	p.sample("mobileone_uptime_seconds", "", time.Since(m.start).Seconds())
	return p.err
}

type promWriter struct {
	w   io.Writer
	err error
}

func (p *promWriter) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

func (p *promWriter) header(name, typ, help string) {
	p.printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

func (p *promWriter) sample(name, labels string, v float64) {
	if labels != "" {
		name += "{" + labels + "}"
	}
	p.printf("%s %s\n", name, formatFloat(v))
}

func (p *promWriter) histogram(name, help string, h *histogram) {
	p.header(name, "histogram", help)
	var cum uint64
	for i, b := range h.bounds {
		cum += h.counts[i]
		p.sample(name+"_bucket", `le="`+formatFloat(b)+`"`, float64(cum))
	}
	p.sample(name+"_bucket", `le="+Inf"`, float64(h.n))
	p.sample(name+"_sum", "", h.sum)
	p.sample(name+"_count", "", float64(h.n))
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func sortedKeys[K int | string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}
