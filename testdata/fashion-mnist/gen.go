//go:build ignore

// gen.go copies the bundled slice of Fashion-MNIST out of the
// fashion-mnist-mini folder dataset (../shared/datasets/fashion-mnist-mini,
// 6,000 train and 1,000 val 28x28 grayscale PNGs in class folders): the
// first perClassTrain train and perClassVal val images of every class in
// file-name order, copied unchanged (re-encoding saves under 3%: the images
// hold about 500 bytes of deflated pixels each).
//
//	go run testdata/fashion-mnist/gen.go [SRC]   # from the repository root
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

const (
	perClassTrain = 300
	perClassVal   = 100
	dst           = "testdata/fashion-mnist"
)

func main() {
	src := "../shared/datasets/fashion-mnist-mini"
	if len(os.Args) > 1 {
		src = os.Args[1]
	}
	total, n := 0, 0
	for split, per := range map[string]int{"train": perClassTrain, "val": perClassVal} {
		classes, err := os.ReadDir(filepath.Join(src, split))
		check(err)
		for _, c := range classes {
			if !c.IsDir() {
				continue
			}
			files, err := filepath.Glob(filepath.Join(src, split, c.Name(), "*.png"))
			check(err)
			sort.Strings(files)
			files = files[:min(per, len(files))]
			out := filepath.Join(dst, split, c.Name())
			check(os.RemoveAll(out))
			check(os.MkdirAll(out, 0o755))
			for _, f := range files {
				b, err := os.ReadFile(f)
				check(err)
				check(os.WriteFile(filepath.Join(out, filepath.Base(f)), b, 0o644))
				total += len(b)
				n++
			}
		}
	}
	fmt.Printf("%d images, %d bytes (%.0f per image)\n", n, total, float64(total)/float64(n))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
