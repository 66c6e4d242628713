//go:build !linux

package imagenet

import (
	"testing"
	"time"
)

func processCPU() time.Duration { return 0 }

func cpuTiming(t *testing.T, name string, reps int, f func()) {
	t.Skip("thread CPU timing needs Linux")
}
