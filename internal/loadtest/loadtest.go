// Package loadtest drives a `mobileone serve` endpoint for the serve tests
// and `make bench-serve`: a closed-loop load of concurrent clients sending
// real images, and a set of hostile requests (faults) that must each get
// their 4xx answer or be cut off while the server keeps answering.
//
// It only ever connects to loopback addresses.
package loadtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// CheckLoopback refuses any URL whose host is not a loopback address.
func CheckLoopback(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("loadtest: %s is not a loopback address (127.0.0.1 or ::1 only)", u.Host)
	}
	return nil
}

// Report summarises a load run.
type Report struct {
	Requests int
	OK       int
	Errors   int            // answers other than 200, and transport errors
	Codes    map[int]int    // answers by status code
	Failures map[string]int // transport errors and non-200 bodies, by message
	Elapsed  time.Duration
	P50, P99 time.Duration
	Max      time.Duration
}

// ImagesPerSecond is the rate of successful answers.
func (r Report) ImagesPerSecond() float64 { return float64(r.OK) / r.Elapsed.Seconds() }

func (r Report) String() string {
	return fmt.Sprintf("%d requests in %.2f s: %d ok, %d errors; %.1f images/s; latency p50 %.1f ms, p99 %.1f ms, max %.1f ms",
		r.Requests, r.Elapsed.Seconds(), r.OK, r.Errors, r.ImagesPerSecond(),
		ms(r.P50), ms(r.P99), ms(r.Max))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Image is one request body.
type Image struct {
	Name        string
	Data        []byte
	ContentType string
}

// LoadImages reads image files for the load.
func LoadImages(paths ...string) ([]Image, error) {
	var out []Image
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		ct := "application/octet-stream"
		switch {
		case strings.HasSuffix(p, ".jpg"), strings.HasSuffix(p, ".jpeg"), strings.HasSuffix(p, ".JPEG"):
			ct = "image/jpeg"
		case strings.HasSuffix(p, ".png"):
			ct = "image/png"
		}
		out = append(out, Image{Name: p, Data: data, ContentType: ct})
	}
	return out, nil
}

// Load sends requests POSTs of images (round robin) to predictURL from
// clients concurrent clients, each sending its next request when the
// previous answer arrived.
func Load(ctx context.Context, predictURL string, images []Image, clients, requests int) (Report, error) {
	if err := CheckLoopback(predictURL); err != nil {
		return Report{}, err
	}
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	var next atomic.Int64
	lat := make([]time.Duration, requests)
	codes := make([]int, requests)
	fails := make([]string, requests)
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= requests || ctx.Err() != nil {
					return
				}
				img := images[i%len(images)]
				t0 := time.Now()
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, predictURL, bytes.NewReader(img.Data))
				req.Header.Set("Content-Type", img.ContentType)
				resp, err := client.Do(req)
				if err != nil {
					fails[i] = err.Error()
					lat[i] = time.Since(t0)
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				lat[i] = time.Since(t0)
				codes[i] = resp.StatusCode
				if err != nil {
					fails[i] = err.Error()
				} else if resp.StatusCode != http.StatusOK {
					fails[i] = strconv.Itoa(resp.StatusCode) + " " + string(bytes.TrimSpace(body))
				} else if !bytes.Contains(body, []byte(`"pred_label"`)) {
					fails[i] = "200 without a prediction: " + string(body)
				}
			}
		}()
	}
	wg.Wait()
	r := Report{Requests: requests, Elapsed: time.Since(start), Codes: map[int]int{}, Failures: map[string]int{}}
	for i := range requests {
		if codes[i] != 0 {
			r.Codes[codes[i]]++
		}
		if fails[i] != "" {
			r.Errors++
			r.Failures[fails[i]]++
		} else if codes[i] == http.StatusOK {
			r.OK++
		}
	}
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	r.P50, r.P99, r.Max = percentile(lat, 0.50), percentile(lat, 0.99), lat[len(lat)-1]
	return r, nil
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// RSS returns the resident set size of process pid (0: this process) in
// bytes, from /proc.
func RSS(pid int) (int64, error) {
	path := "/proc/self/status"
	if pid > 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("loadtest: no VmRSS in %s", path)
}
