//go:build race

package fit_test

// raceEnabled: the race detector multiplies memory use, so heap figures
// mean nothing under it.
const raceEnabled = true
