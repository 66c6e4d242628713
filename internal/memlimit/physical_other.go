//go:build !linux

package memlimit

// physical is unknown here: the budget then comes only from
// MOBILEONE_MEMORY_LIMIT or GOMEMLIMIT.
func physical() int64 { return 0 }
