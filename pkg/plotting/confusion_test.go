package plotting

import (
	"strings"
	"testing"
)

func TestRenderConfusionErrors(t *testing.T) {
	big := make([][]int64, MaxValueClasses+1)
	for i := range big {
		big[i] = make([]int64, len(big))
	}
	for _, c := range []struct {
		f    ConfusionFigure
		want string
	}{
		{ConfusionFigure{}, "empty"},
		{ConfusionFigure{Matrix: [][]int64{{1, 2}, {3}}}, "row 1 has 1 values"},
		{ConfusionFigure{Matrix: [][]int64{{1}}, Classes: []string{"a", "b"}}, "2 class names for a 1x1"},
		{ConfusionFigure{Matrix: big, IncludeValues: true}, "cannot be read"},
	} {
		if _, err := RenderConfusion(c.f); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
	// One class, all counts equal: still a picture.
	if _, err := RenderConfusion(ConfusionFigure{Matrix: [][]int64{{5}}, IncludeValues: true}); err != nil {
		t.Error(err)
	}
}

// upstream's cell texts: format(v, '.2g') unless format(v, 'd') is shorter.
func TestCellText(t *testing.T) {
	for v, want := range map[int64]string{0: "0", 7: "7", 42: "42", 123: "123", 1000: "1000", 12345: "12345", 1234567: "1.2e+06", 100000: "1e+05"} {
		if got := cellText(v); got != want {
			t.Errorf("cellText(%d) = %q, want %q", v, got, want)
		}
	}
}

func TestColormap(t *testing.T) {
	v, err := ParseColormap("viridis")
	if err != nil {
		t.Fatal(err)
	}
	if c := v.At(0); c.R != 0x44 || c.G != 0x01 || c.B != 0x54 {
		t.Errorf("viridis(0) = %v", c)
	}
	r, _ := ParseColormap("viridis_r")
	if r.At(0) != v.At(1) || r.At(1) != v.At(0) {
		t.Error("viridis_r is not viridis reversed")
	}
	if _, err := ParseColormap("jet"); err == nil {
		t.Error("jet accepted")
	}
}
