// Package toydata writes a tiny image-classification data set for training
// tests: 3 classes of 16×16 grayscale PNGs whose class is the bright
// quadrant (0 top-left, 1 top-right or bottom-left, 2 bottom-right), 6
// images per class in train/<class>/ and val/<class>/ (folder layout).
package toydata

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// Write creates root/{train,val}/class{0,1,2}/{0..5}.png.
func Write(t testing.TB, root string) {
	t.Helper()
	for _, split := range []string{"train", "val"} {
		for c := 0; c < 3; c++ {
			dir := filepath.Join(root, split, fmt.Sprintf("class%d", c))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 6; i++ {
				img := image.NewGray(image.Rect(0, 0, 16, 16))
				for y := 0; y < 16; y++ {
					for x := 0; x < 16; x++ {
						v := uint8((x*7 + y*13 + i*29) % 64)
						if (x/8)+(y/8) == c {
							v += 150
						}
						img.SetGray(x, y, color.Gray{v})
					}
				}
				f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%d.png", i)))
				if err != nil {
					t.Fatal(err)
				}
				if err := png.Encode(f, img); err != nil {
					t.Fatal(err)
				}
				if err := f.Close(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}
