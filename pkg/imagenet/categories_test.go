package imagenet

import (
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
)

func TestImageNetCategories(t *testing.T) {
	c := ImageNetCategories()
	if len(c) != 1000 {
		t.Fatalf("%d categories, want 1000", len(c))
	}
	for i, want := range map[int]string{
		0:   "tench, Tinca tinca",
		1:   "goldfish, Carassius auratus",
		999: "toilet tissue, toilet paper, bathroom tissue",
	} {
		if c[i] != want {
			t.Errorf("category %d = %q, want %q", i, c[i], want)
		}
	}
	for i, s := range c {
		if s == "" || strings.TrimSpace(s) != s {
			t.Errorf("category %d = %q", i, s)
		}
	}
	c[0] = "changed"
	if ImageNetCategories()[0] != "tench, Tinca tinca" {
		t.Error("ImageNetCategories returns a shared slice")
	}
	// The shared fixtures' class list, line for line.
	shared := strings.Split(strings.TrimSuffix(string(readFile(t, fixtures.Shared(t, "imagenet/meta/classes.txt"))), "\n"), "\n")
	got := ImageNetCategories()
	if len(shared) != len(got) {
		t.Fatalf("shared classes.txt has %d lines", len(shared))
	}
	for i := range got {
		if got[i] != shared[i] {
			t.Fatalf("category %d = %q, shared classes.txt has %q", i, got[i], shared[i])
		}
	}
}
