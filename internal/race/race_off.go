//go:build !race

// Package race tells tests whether the race detector is on.
package race

// Enabled is true in a build with the race detector (see race_on.go).
const Enabled = false
