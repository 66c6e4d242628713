// Command synthimagenet writes a synthetic ImageNet-layout validation set
// for large-scale `mobileone test` runs (speed, memory), not for accuracy:
//
//	ROOT/val/ILSVRC2012_val_%08d.JPEG   N JPEGs of ImageNet-like sizes
//	ROOT/meta/val.txt                   "<file> <label>" lines, labels i % 1000
//
// The pictures are smooth colour fields with a little noise (so that they
// compress like photographs, ~20-40 KB each), sized like ImageNet's
// validation images (the short side 333-500 px, either orientation), and
// reproducible from -seed. Nothing in the repository depends on it; the data
// is never committed (see bench/README.md, "Large-scale test").
//
//	go run ./bench/synthimagenet -root /tmp/synth-imagenet -n 20000
//	mobileone test mobileone-s0_deploy_8xb32_in1k s0_deploy.pth \
//	    --cfg-options test_dataloader.dataset.data_root=/tmp/synth-imagenet
package main

import (
	"bufio"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"sync"
)

func main() {
	root := flag.String("root", "", "output folder (created; val/ and meta/ go inside)")
	n := flag.Int("n", 20000, "number of images")
	seed := flag.Int64("seed", 1, "random seed")
	flag.Parse()
	if *root == "" || *n < 1 {
		fmt.Fprintln(os.Stderr, "usage: synthimagenet -root DIR [-n 20000] [-seed 1]")
		os.Exit(2)
	}
	if err := write(*root, *n, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "synthimagenet:", err)
		os.Exit(1)
	}
}

func write(root string, n int, seed int64) error {
	val, meta := filepath.Join(root, "val"), filepath.Join(root, "meta")
	for _, d := range []string{val, meta} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	jobs := make(chan int)
	errs := make(chan error, runtime.NumCPU())
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := writeImage(filepath.Join(val, name(i)), seed, i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		select {
		case err := <-errs:
			close(jobs)
			wg.Wait()
			return err
		case jobs <- i:
		}
		if (i+1)%2000 == 0 {
			fmt.Fprintf(os.Stderr, "%d/%d\n", i+1, n)
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	f, err := os.Create(filepath.Join(meta, "val.txt"))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, "%s %d\n", name(i), i%1000)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func name(i int) string { return fmt.Sprintf("ILSVRC2012_val_%08d.JPEG", i+1) }

func writeImage(path string, seed int64, i int) error {
	r := rand.New(rand.NewSource(seed*1_000_003 + int64(i)))
	short := 333 + r.Intn(168)
	long := short * (4 + r.Intn(3)) / 4 // aspect 1, 1.25 or 1.5
	w, h := long, short
	if r.Intn(3) == 0 {
		w, h = short, long
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	// separable colour fields: a wave along x plus one along y per channel
	var sx, cy [3][]float64
	for c := range 3 {
		base, fx, fy := 60+120*r.Float64(), 0.5+4*r.Float64(), 0.5+4*r.Float64()
		sx[c], cy[c] = make([]float64, w), make([]float64, h)
		for x := range sx[c] {
			sx[c][x] = base + 50*math.Sin(fx*float64(x)/float64(w)*math.Pi+float64(c))
		}
		for y := range cy[c] {
			cy[c][y] = 40 * math.Cos(fy*float64(y)/float64(h)*math.Pi)
		}
	}
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride:]
		for x := 0; x < w; x++ {
			for c := range 3 {
				v := sx[c][x] + cy[c][y] + float64(r.Intn(17)-8)
				row[4*x+c] = uint8(max(0, min(255, v)))
			}
			row[4*x+3] = 255
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 85}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
