package memlimit

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	total, _ := Machine()
	for _, c := range []struct {
		in   string
		want int64
	}{
		{"8GiB", 8 << 30}, {"512MB", 512e6}, {"1.5 GiB", 3 << 29}, {"1e9", 1e9}, {"100B", 100}, {"2KiB", 2048},
		{"50%", total / 2},
	} {
		got, err := Parse(c.in)
		if err != nil || got != c.want {
			t.Errorf("Parse(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "-1", "0", "lots", "8XB", "150%", "0%", "1e30GiB"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

func TestCheck(t *testing.T) {
	t.Setenv(EnvVar, "1GiB")
	if err := Check(func() string { return "small" }, 1<<29); err != nil {
		t.Errorf("half the limit: %v", err)
	}
	err := Check(func() string { return "the forward pass of 1 image(s) of 20000x20000" }, 40<<30)
	var me *Error
	if !errors.As(err, &me) || me.Limit != 1<<30 || me.Need != 40<<30 {
		t.Fatalf("err = %v", err)
	}
	want := "the forward pass of 1 image(s) of 20000x20000 needs about 40.0 GiB of memory, more than the limit of 1.0 GiB (MOBILEONE_MEMORY_LIMIT=1GiB)"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message %q, want prefix %q", err, want)
	}
	t.Setenv(EnvVar, "much")
	if err := Check(func() string { return "x" }, 1); err == nil || !strings.Contains(err.Error(), `MOBILEONE_MEMORY_LIMIT="much"`) {
		t.Errorf("bad env: %v", err)
	}
	t.Setenv(EnvVar, "")
	if limit, source, err := Limit(); err != nil || limit <= 0 || source == "" {
		t.Errorf("default: %d %q %v", limit, source, err)
	}
}
