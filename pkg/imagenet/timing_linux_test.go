package imagenet

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// threadCPU returns the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID).
func threadCPU() time.Duration {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}

// cpuTiming runs f reps times on a locked thread and reports the minimum
// and median thread CPU time per call: on a loaded shared machine these are
// far steadier than wall-clock benchmarks. Enabled by MOBILEONE_TIMING=1.
func cpuTiming(t *testing.T, name string, reps int, f func()) {
	if os.Getenv("MOBILEONE_TIMING") == "" {
		t.Skip("set MOBILEONE_TIMING=1")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f()
	ds := make([]time.Duration, reps)
	for i := range ds {
		t0 := threadCPU()
		f()
		ds[i] = threadCPU() - t0
	}
	slices.Sort(ds)
	fmt.Printf("TIMING %-40s min %8.3f ms  median %8.3f ms\n", name, float64(ds[0])/1e6, float64(ds[len(ds)/2])/1e6)
}

// processCPU returns the user+system CPU time of the whole process.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
