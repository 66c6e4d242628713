//go:build race

package race

// Enabled is true in a build with the race detector, under which
// sync.Pool drops items at random: tests of pooled reuse and allocation
// counts skip those checks there.
const Enabled = true
