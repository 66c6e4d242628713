// Command serve is `make bench-serve`: it runs `mobileone serve` as a
// child process on a loopback port with a real checkpoint, loads it with
// concurrent clients sending real photos, sends the hostile requests of
// internal/loadtest, and compares the throughput with `mobileone
// benchmark --batch-size <max-batch>` (the model alone on synthetic
// input; run before and after the load, the mean). It exits non-zero when a request fails, a fault is not refused,
// the server's memory grows unboundedly, the server does not shut down
// cleanly on SIGTERM, or the throughput is below -min-ratio of the
// benchmark's.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mobileone-go/mobileone/internal/loadtest"
)

func main() {
	bin := flag.String("bin", "./mobileone", "the mobileone binary")
	config := flag.String("config", "mobileone-s0_deploy_8xb32_in1k", "config to serve")
	ckpt := flag.String("checkpoint", "../shared/fixtures/checkpoints/s0_deploy.pth", "checkpoint to serve")
	clients := flag.Int("clients", 64, "concurrent clients")
	requests := flag.Int("requests", 2000, "requests in all")
	maxBatch := flag.Int("max-batch", 8, "serve --max-batch, and benchmark --batch-size")
	maxDelay := flag.Duration("max-delay", 10*time.Millisecond, "serve --max-delay")
	images := flag.String("images", "../shared/fixtures/inputs/images/*.jpg,../shared/fixtures/inputs/images/*.jpeg,testdata/imagenet/*.jpeg", "comma-separated globs of the photos to send")
	minRatio := flag.Float64("min-ratio", 0.8, "least serve images/s as a fraction of benchmark images/s")
	maxGrowth := flag.Int64("max-rss-growth", 256<<20, "most the server's RSS may grow over the run, in bytes")
	flag.Parse()
	if err := run(*bin, *config, *ckpt, *clients, *requests, *maxBatch, *maxDelay, *images, *minRatio, *maxGrowth); err != nil {
		fmt.Fprintln(os.Stderr, "bench-serve:", err)
		os.Exit(1)
	}
}

func run(bin, config, ckpt string, clients, requests, maxBatch int, maxDelay time.Duration, globs string, minRatio float64, maxGrowth int64) error {
	var paths []string
	for _, g := range strings.Split(globs, ",") {
		m, _ := filepath.Glob(g)
		paths = append(paths, m...)
	}
	imgs, err := loadtest.LoadImages(paths...)
	if err != nil {
		return err
	}
	if len(imgs) == 0 {
		return fmt.Errorf("no images match %s", globs)
	}
	fmt.Printf("images: %d photos (%s)\n", len(imgs), strings.Join(paths, " "))

	// The model alone, before the load (and again after it: the machine's
	// speed drifts, so the reference is the mean of the two runs).
	bench1, err := benchmark(bin, config, ckpt, maxBatch)
	if err != nil {
		return err
	}

	// The server.
	const readTimeout = 5 * time.Second
	cmd := exec.Command(bin, "serve", config, ckpt, "--host", "127.0.0.1", "--port", "0", "--model-name", "m",
		"--max-batch", strconv.Itoa(maxBatch), "--max-delay", maxDelay.String(), "--max-inflight", strconv.Itoa(clients+16),
		"--read-timeout", readTimeout.String())
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Process.Kill()
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`at http://(127\.0\.0\.1:\d+)/`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
			fmt.Fprintln(os.Stderr, "  serve:", sc.Text())
		}
	}()
	var url string
	select {
	case a := <-addr:
		url = "http://" + a + "/predictions/m"
	case <-time.After(2 * time.Minute):
		return fmt.Errorf("the server did not start")
	}
	pid := cmd.Process.Pid
	ctx := context.Background()
	if _, err := loadtest.Load(ctx, url, imgs, maxBatch, 4*maxBatch); err != nil { // warm up
		return err
	}
	rssBefore, err := loadtest.RSS(pid)
	if err != nil {
		return err
	}
	rep, err := loadtest.Load(ctx, url, imgs, clients, requests)
	if err != nil {
		return err
	}
	fmt.Printf("load: %d clients: %s\n", clients, rep)
	rssLoad, _ := loadtest.RSS(pid)
	bench2, err := benchmark(bin, config, ckpt, maxBatch) // the server idles meanwhile
	if err != nil {
		return err
	}
	benchRate := (bench1 + bench2) / 2
	var jpeg []byte
	for _, im := range imgs {
		if im.ContentType == "image/jpeg" {
			jpeg = im.Data
			break
		}
	}
	faults, err := loadtest.Faults(url, loadtest.FaultOptions{JPEG: jpeg, ReadTimeout: readTimeout, BigBody: 100e6})
	if err != nil {
		return err
	}
	var problems []string
	fmt.Println("faults:")
	for _, f := range faults {
		fmt.Println("  " + f.String())
		if !f.OK {
			problems = append(problems, "fault "+f.Name+": "+f.Got)
		}
	}
	after, err := loadtest.Load(ctx, url, imgs, clients, max(requests/10, clients))
	if err != nil {
		return err
	}
	fmt.Printf("after the faults: %s\n", after)
	rssAfter, _ := loadtest.RSS(pid)
	fmt.Printf("server RSS: %.1f MB before the load, %.1f MB after it, %.1f MB after the faults and a second load\n",
		mb(rssBefore), mb(rssLoad), mb(rssAfter))
	ratio := rep.ImagesPerSecond() / benchRate
	fmt.Printf("throughput: %.1f images/s served = %.0f %% of benchmark's %.1f (mean of %.1f before and %.1f after the load; target >= %.0f %%)\n",
		rep.ImagesPerSecond(), 100*ratio, benchRate, bench1, bench2, 100*minRatio)

	cmd.Process.Signal(syscall.SIGTERM)
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case err := <-waitErr:
		if err != nil {
			problems = append(problems, "serve did not exit cleanly on SIGTERM: "+err.Error())
		}
	case <-time.After(time.Minute):
		problems = append(problems, "serve did not exit within a minute of SIGTERM")
	}
	if rep.Errors > 0 || after.Errors > 0 {
		problems = append(problems, fmt.Sprintf("%d + %d requests failed: %v %v", rep.Errors, after.Errors, rep.Failures, after.Failures))
	}
	if rssAfter-rssBefore > maxGrowth {
		problems = append(problems, fmt.Sprintf("the server's RSS grew by %.1f MB", mb(rssAfter-rssBefore)))
	}
	if ratio < minRatio {
		problems = append(problems, fmt.Sprintf("throughput %.0f %% of the benchmark's, below %.0f %%", 100*ratio, 100*minRatio))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d problems:\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
	fmt.Println("bench-serve: ok")
	return nil
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// benchmark runs `mobileone benchmark --batch-size maxBatch` (the model
// alone, synthetic input) and returns its images/s.
func benchmark(bin, config, ckpt string, maxBatch int) (float64, error) {
	out, err := exec.Command(bin, "benchmark", config, "--checkpoint", ckpt, "--batch-size", strconv.Itoa(maxBatch), "--iters", "20", "--json").Output()
	if err != nil {
		return 0, fmt.Errorf("benchmark: %w", err)
	}
	var bench struct {
		ImagesPerS float64 `json:"images_per_s"`
		MedianMS   float64 `json:"median_ms"`
	}
	if err := json.Unmarshal(out, &bench); err != nil {
		return 0, fmt.Errorf("benchmark --json: %w", err)
	}
	fmt.Printf("benchmark --batch-size %d: %.1f ms per batch, %.1f images/s\n", maxBatch, bench.MedianMS, bench.ImagesPerS)
	return bench.ImagesPerS, nil
}
