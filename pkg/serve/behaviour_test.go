package serve

import (
	"bufio"
	"context"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// scrape reads /metrics into name{labels} → value, checking the text
// format on the way: HELP and TYPE before each family's samples, and
// cumulative histogram buckets ending in +Inf = _count.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}
	m := map[string]float64{}
	typed := map[string]string{}
	var last float64
	var lastFamily string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			f := strings.Fields(rest)
			typed[f[0]] = f[1]
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("bad sample line %q", line)
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("bad value in %q", line)
		}
		family, _, _ := strings.Cut(name, "{")
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(family, "_bucket"), "_sum"), "_count")
		if typed[family] == "" && typed[base] != "histogram" {
			t.Errorf("%s has no TYPE line before it", name)
		}
		if strings.HasSuffix(family, "_bucket") {
			if family == lastFamily && v < last {
				t.Errorf("%s: buckets not cumulative", line)
			}
			last, lastFamily = v, family
		}
		m[name] = v
	}
	for _, h := range []string{"mobileone_request_duration_seconds", "mobileone_batch_size"} {
		if m[h+`_bucket{le="+Inf"}`] != m[h+"_count"] {
			t.Errorf("%s: +Inf bucket %v, count %v", h, m[h+`_bucket{le="+Inf"}`], m[h+"_count"])
		}
	}
	return m
}

// Concurrent requests share forward passes of at most MaxBatch images,
// and the batch-size histogram counts them.
func TestDynamicBatching(t *testing.T) {
	tm := loadTiny(t)
	rec := &recorder{inner: tm.model, delay: 50 * time.Millisecond}
	url, _ := start(t, rec, Options{MaxBatch: 4, MaxDelay: 200 * time.Millisecond}, HTTPOptions{})
	jpg := readFile(t, "imagenet/gomod_go-turns-two-280x360.jpeg")
	const n = 10
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = post(t, url+"/predictions/tiny", "image/jpeg", jpg).code
		}()
	}
	wg.Wait()
	total, biggest := 0, 0
	for _, s := range rec.batchSizes() {
		total += s
		biggest = max(biggest, s)
	}
	for i, c := range codes {
		if c != 200 {
			t.Errorf("request %d: %d", i, c)
		}
	}
	if total != n || biggest > 4 || biggest < 2 {
		t.Errorf("batches %v: want %d images in batches of 2..4", rec.batchSizes(), n)
	}
	m := scrape(t, url)
	if m["mobileone_batch_size_sum"] != n || m["mobileone_images_total"] != n {
		t.Errorf("metrics: batch sum %v, images %v", m["mobileone_batch_size_sum"], m["mobileone_images_total"])
	}
}

// Beyond MaxInFlight requests the answer is 429 at once; past Timeout it
// is 503; the server answers again when the model is free.
func TestInFlightLimitAndTimeout(t *testing.T) {
	tm := loadTiny(t)
	rec := &recorder{inner: tm.model, release: make(chan struct{}), started: make(chan struct{}, 1)}
	url, _ := start(t, rec, Options{MaxInFlight: 1, Timeout: 500 * time.Millisecond}, HTTPOptions{})
	jpg := readFile(t, "imagenet/gomod_go-turns-two-280x360.jpeg")
	first := make(chan answer, 1)
	go func() { first <- post(t, url+"/predictions/tiny", "image/jpeg", jpg) }()
	<-rec.started // the first request holds the model
	a := post(t, url+"/predictions/tiny", "image/jpeg", jpg)
	if a.code != http.StatusTooManyRequests {
		t.Errorf("second request: %d %s, want 429", a.code, a.body)
	}
	if a := <-first; a.code != http.StatusServiceUnavailable || !strings.Contains(a.err.Message, "--timeout") {
		t.Errorf("held request: %d %s, want 503 after the timeout", a.code, a.body)
	}
	close(rec.release)
	if a := post(t, url+"/predictions/tiny", "image/jpeg", jpg); a.code != 200 {
		t.Errorf("after the model is free: %d %s", a.code, a.body)
	}
}

// SIGTERM (the context's end) lets the requests in flight finish with
// their answer, then the listener is closed.
func TestGracefulShutdown(t *testing.T) {
	tm := loadTiny(t)
	rec := &recorder{inner: tm.model, delay: 300 * time.Millisecond}
	s, err := New(rec, tm.pipe, tm.norm, tm.classes, Options{Model: "tiny", MaxBatch: 1})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, s, HTTPOptions{Grace: 10 * time.Second}) }()
	jpg := readFile(t, "imagenet/gomod_go-turns-two-280x360.jpeg")
	const n = 3
	answers := make(chan int, n)
	for range n {
		go func() { answers <- post(t, url+"/predictions/tiny", "image/jpeg", jpg).code }()
	}
	for inFlight(s) < n { // every request is received
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	for range n {
		if c := <-answers; c != 200 {
			t.Errorf("in-flight request answered %d", c)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(url + "/ping"); err == nil {
		t.Error("the server still accepts connections after shutting down")
	}
}

func TestPingModelsDescribe(t *testing.T) {
	url, _ := start(t, nil, Options{ModelURL: "tiny_deploy.pth", MaxBatch: 16, MaxDelay: 7 * time.Millisecond, Workers: 3}, HTTPOptions{})
	for path, want := range map[string]string{
		"/ping":         `{"status":"Healthy"}`,
		"/models":       `{"models":[{"modelName":"tiny","modelUrl":"tiny_deploy.pth"}]}`,
		"/models/tiny":  `"batchSize":16,`,
		"/models/other": `"code":404`,
	} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		bufio.NewReader(resp.Body).WriteTo(&b)
		resp.Body.Close()
		if !strings.Contains(b.String(), want) {
			t.Errorf("%s: %s, want %s", path, b.String(), want)
		}
	}
	if resp, _ := http.Get(url + "/predictions/tiny"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /predictions: %d", resp.StatusCode)
	}
	h := newHistogram([]float64{1, 2})
	for _, v := range []float64{0.5, 1, 1.5, 3, math.Inf(1)} {
		h.observe(v)
	}
	if h.counts[0] != 2 || h.counts[1] != 1 || h.counts[2] != 2 { // le is inclusive
		t.Errorf("histogram counts %v", h.counts)
	}
}

func inFlight(s *Server) int64 {
	s.metrics.mu.Lock()
	defer s.metrics.mu.Unlock()
	return s.metrics.inFlight
}
