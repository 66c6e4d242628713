// Package memlimit is the memory budget of the process and the check that
// a large allocation fits it before it is made: a command refuses a job
// whose estimated memory exceeds the budget with the estimate and the
// limit, instead of growing until the kernel's OOM killer stops it (and
// whatever else runs on the machine).
//
// The budget, in order of precedence:
//   - MOBILEONE_MEMORY_LIMIT (or the --memory-limit flag, which sets it):
//     bytes with an optional unit (B, KB, MB, GB, KiB, MiB, GiB, TiB) or a
//     percentage of the machine's memory ("50%");
//   - GOMEMLIMIT (Go's runtime memory limit), when set;
//   - 80% of the machine's memory: the physical memory, or the cgroup's
//     memory limit (v2 memory.max, v1 memory.limit_in_bytes) when lower.
package memlimit

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
)

// EnvVar names the environment variable that sets the budget.
const EnvVar = "MOBILEONE_MEMORY_LIMIT"

// DefaultFraction is the share of the machine's memory used when nothing
// sets the budget.
const DefaultFraction = 0.8

// Limit returns the budget in bytes and a description of where it comes
// from (for messages). A malformed MOBILEONE_MEMORY_LIMIT is an error.
func Limit() (int64, string, error) {
	if v := os.Getenv(EnvVar); v != "" {
		n, err := Parse(v)
		if err != nil {
			return 0, "", fmt.Errorf("%s=%q: %w", EnvVar, v, err)
		}
		return n, EnvVar + "=" + v, nil
	}
	if n := debug.SetMemoryLimit(-1); n != math.MaxInt64 {
		return n, "GOMEMLIMIT", nil
	}
	n, source := machineDefault()
	return n, source, nil
}

// machineDefault is the budget when nothing sets one, with its
// description, worked out once: Limit runs on every forward pass.
var machineDefault = sync.OnceValues(func() (int64, string) {
	total, what := Machine()
	if total <= 0 {
		return math.MaxInt64, "no limit: the machine's memory is unknown"
	}
	return int64(float64(total) * DefaultFraction), fmt.Sprintf("%.0f%% of the %s of %s", DefaultFraction*100, Bytes(total), what)
})

// Parse reads a budget: "16GiB", "512MB", "1e9", or "50%" of Machine().
func Parse(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || f <= 0 || f > 100 {
			return 0, errors.New("a percentage must be in (0, 100]")
		}
		total, _ := Machine()
		if total <= 0 {
			return 0, errors.New("the machine's memory is unknown: give bytes")
		}
		return int64(float64(total) * f / 100), nil
	}
	units := []struct {
		suffix string
		mult   float64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	mult := 1.0
	for _, u := range units {
		if p, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(p), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) || f*mult >= math.MaxInt64 {
		return 0, errors.New("want a positive size such as 8GiB, 512MB or 50%")
	}
	return int64(f * mult), nil
}

// Machine returns the memory the process may use: the physical memory, or
// the cgroup's limit when lower, and which of the two it is.
func Machine() (int64, string) { return machine() }

var machine = sync.OnceValues(func() (int64, string) {
	total, what := physical(), "physical memory"
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err == nil && n > 0 && (total <= 0 || n < total) {
			total, what = n, "cgroup memory limit ("+p+")"
		}
		break
	}
	return total, what
})

// Error is a refused allocation: what it was for, the estimate and the
// budget.
type Error struct {
	What   string // e.g. "the forward pass of 1 image of 20000x20000"
	Need   int64
	Limit  int64
	Source string // where the limit comes from
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s needs about %s of memory, more than the limit of %s (%s); use a smaller input or batch, or raise the limit with --memory-limit or %s",
		e.What, Bytes(e.Need), Bytes(e.Limit), e.Source, EnvVar)
}

// Check returns an *Error when need bytes exceed the budget; what names
// the job for the message and is called only then (Check runs on every
// forward pass and every decoded image, where formatting the message
// would be most of its cost).
func Check(what func() string, need int64) error {
	limit, source, err := Limit()
	if err != nil {
		return err
	}
	if need > limit {
		return &Error{What: what(), Need: need, Limit: limit, Source: source}
	}
	return nil
}

// Bytes formats a size in binary units ("19.2 GiB").
func Bytes(n int64) string {
	f := float64(n)
	for _, u := range []string{"B", "KiB", "MiB", "GiB", "TiB"} {
		if f < 1024 || u == "TiB" {
			if u == "B" {
				return fmt.Sprintf("%d B", n)
			}
			return fmt.Sprintf("%.1f %s", f, u)
		}
		f /= 1024
	}
	return ""
}
